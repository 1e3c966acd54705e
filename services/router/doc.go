// Package router routes every event of EVENTS to the partners that
// subscribed to it: by type, by optional CESQL filter over the context
// attributes, and, for a directed event (one with ontvanger), only to that
// partner. Each delivery carries only the data fields its subscription
// allows (sensitive fields never, unless listed) and goes to DELIVERY with
// a deterministic Nats-Msg-Id. The input is acked only after every
// delivery is stored, so a crash never loses or doubles a delivery.
// When tracing (Config.TracerProvider, see package telemetry) each event
// gets a "router.route" span, the child of its traceparent extension, and
// its deliveries carry that span's context in their traceparent and
// tracestate headers; the delivered body keeps the event's own extension.
package router
