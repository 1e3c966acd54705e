// Package adapter delivers the messages on DELIVERY to the partners'
// webhooks: one Watermill handler per webhook partner, each on its own
// durable JetStream consumer ("adapter-<partner>", filter
// ketenbus.deliver.<partner>), so a slow or dead partner never delays
// another.
//
// # The request
//
// Every delivery is one HTTP POST following the CloudEvents HTTP binding:
// structured mode (the default) sends the delivery body, the whole event,
// as application/cloudevents+json; binary mode sends the event's data as
// the body and every context attribute as a ce- header, percent-encoded as
// the binding prescribes. The request carries the Standard Webhooks
// headers (webhook-id is the delivery id, bus.DeliveryID: the
// delivery's Ketenbus-Delivery-Id header, or for a delivery stored before
// the router set it, the id derived the same way from partner,
// subscription and the event's source and id; so a retry, a replay and a
// DLQ retry carry the same webhook-id, and two events with one id from two
// sources, or one event for two subscriptions, do not; webhook-timestamp
// is the time of this attempt; webhook-signature signs id, timestamp and
// the exact body sent), Ketenbus-Partner and Ketenbus-Subscription, which
// name the partner and the subscription the delivery is for (an event that
// matches two subscriptions of a partner is delivered once for each, with
// each subscription's purpose and fields), an
// Authorization: Bearer header when the webhook names token_env, and the
// W3C traceparent and tracestate headers: when tracing
// (Config.TracerProvider, see package telemetry) those of the attempt's
// "adapter.deliver" span, a client span that is the child of the router's
// span (the delivery's traceparent header); otherwise the event's
// traceparent and tracestate extensions, when it carries them. Redirects
// are not followed.
//
// The whole request is built and checked before the circuit breaker is
// asked (webhookout.Build): the event's String attributes (no control
// characters, noncharacters or broken UTF-8, which CloudEvents forbids and
// the gateway now refuses, but an older gateway stored), its encoding in
// the mode, the URL and every header value. What fails there is a local
// failure: no request leaves, the endpoint is not to blame, and retrying
// cannot help.
//
// # Outcomes
//
// What an answer means is decided by webhookout.Classify, a pure function
// whose table a test checks row by row; this list says the same in words,
// with what the adapter does for each:
//
//   - a local failure (an event that cannot be opened, read or encoded, a
//     request that cannot be built or holds an invalid header value): to
//     the DLQ at once with the reason (such as "request cannot be sent:
//     event attribute id: forbidden character: the control character
//     U+000A (line feed) at character 4"), never counted by the breaker;
//   - 2xx: delivered; the message is acked.
//   - 429 and 503: retried after the Retry-After the partner asked for
//     (seconds or an HTTP date; at most 24h), and no sooner than the
//     schedule's step.
//   - other 5xx, timeouts and connection errors: retried after
//     retry_schedule[attempt-1].
//   - 410: the subscription is retired: recorded in the JetStream key-value
//     bucket ketenbus-retired under "<partner>.<subscription>", alerted
//     (an Error log line and ketenbus_adapter_subscriptions_retired_total),
//     and this and every later delivery for it goes to the DLQ without a
//     request. Deleting the key resumes delivery.
//   - 400, 401, 403, 404, 413, 415, every other 4xx, and 1xx/3xx: to the
//     DLQ at once.
//
// Retries are naks with a delay: the broker redelivers, no goroutine
// sleeps. A partner's requests in flight are bounded by its consumer's
// MaxAckPending and each by the webhook timeout, so other partners never
// wait for it. A delivery waiting for its retry keeps its place among
// those MaxAckPending (JetStream counts it as pending): a partner with that
// many deliveries waiting receives nothing new until one is due, which
// also keeps a struggling endpoint from being flooded.
//
// # When a retried delivery goes to the DLQ
//
// The broker counts deliveries (NumDelivered), not requests: naks while
// the circuit breaker is open, and redeliveries after a crash, count too.
// So the adapter decides with the count and the clock together. After a
// failed attempt a delivery goes to the DLQ when both hold:
//
//	NumDelivered > len(retry_schedule)
//	age >= sum(retry_schedule)   (age: time since DELIVERY stored it)
//
// Without interruptions both become true together, at the last step of
// the schedule. When the count ran ahead of the requests (breaker naks),
// the age rule still grants the whole schedule's time, and the wait after
// a failure resumes the schedule where the clock stands: the time until
// the next cumulative step, measured from when DELIVERY stored the
// message. A delivery held back by an open breaker is treated as a failed
// attempt whose wait is cut to the breaker's remaining cooldown: it too
// goes to the DLQ once it meets both conditions, so nothing waits forever.
//
// # Dead letters
//
// A dead letter goes to ketenbus.dlq.<partner> (stream DLQ): the delivery
// body unchanged, the delivery's headers (Ketenbus-Delivery-Id set also
// for a delivery stored before the router set it), and Ketenbus-Dlq-Reason,
// -Status (last HTTP status, absent when no response came), -Body (at most
// 512 bytes of the response body, every BSN replaced by "[bsn]"),
// -Attempts (NumDelivered), -First-Attempt (when DELIVERY stored the
// message) and -Last-Attempt. Its Nats-Msg-Id is the delivery's, so a
// crash between storing the dead letter and acking the delivery never
// doubles it. The delivery is acked only after the DLQ stored the dead
// letter; when that fails it is nacked and comes back.
//
// # Circuit breaker
//
// Per partner: after Breaker.Failures consecutive failures (5xx, 429,
// timeouts, connection errors; never a local failure, which says nothing
// about the endpoint) it opens for Breaker.Cooldown; then one
// attempt goes through (half-open): success closes it, failure opens it
// again. While it is open no request is made and deliveries are nacked
// with the remaining cooldown as delay.
//
// # Handshake
//
// With handshake: true the adapter first sends the CNCF abuse-protection
// OPTIONS request with WebHook-Request-Origin (Config.Origin) and starts
// the partner's consumer only after a 2xx answer whose
// WebHook-Allowed-Origin is that origin or "*". A refusal is logged as an
// Error and the handshake is retried with backoff; nothing is delivered to
// that partner in the meantime.
//
// # Logs and metrics
//
// Log lines carry partner, subscription, event id, status, attempt and
// reason; never data fields, response bodies, tokens or secrets. Metrics:
// ketenbus_adapter_deliveries_total{partner,outcome} (delivered, retry,
// dlq, retired; retired counts the dead letters of retired subscriptions),
// ketenbus_adapter_delivery_seconds{partner} (one request),
// ketenbus_adapter_circuit_open{partner} (1 while open or half-open),
// ketenbus_adapter_subscriptions_retired_total{partner,subscription} and
// ketenbus_adapter_handshake_pending{partner}.
package adapter
