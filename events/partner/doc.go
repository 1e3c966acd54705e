// Package partner is what a partner IT team needs to receive events from
// ketenbus: an [http.Handler] for webhook deliveries, a consumer for partners
// that take their deliveries over NATS, and a small idempotency helper.
//
// # A receiver in 30 lines
//
// ketenbus POSTs each event to the partner's HTTPS endpoint as a CloudEvent,
// signed under the Standard Webhooks scheme with the partner's secret. A
// [Receiver] checks everything and hands the handler a parsed event:
//
//	func main() {
//		receiver, err := partner.NewReceiver(partner.ReceiverConfig{
//			Secrets: []string{os.Getenv("KETENBUS_WEBHOOK_SECRET")},
//			Token:   os.Getenv("KETENBUS_WEBHOOK_TOKEN"), // optional
//			Handler: func(ctx context.Context, e event.Event) error {
//				var data map[string]any
//				if err := e.DataAs(&data); err != nil {
//					return partner.Reject(err) // never processable: dead letter queue
//				}
//				if err := store(ctx, e.Type(), e.Subject(), data); err != nil {
//					return partner.RetryAfter(err, time.Minute) // database down: come back later
//				}
//				return nil // 204: delivered
//			},
//			Idempotency: partner.NewMemoryStore(0, 0), // production: a Store on the partner's database
//			Logger:      slog.Default(),
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//		mux := http.NewServeMux()
//		mux.Handle("/ketenbus", receiver)
//		log.Fatal(http.ListenAndServeTLS(":8443", "cert.pem", "key.pem", mux))
//	}
//
// The handler gets the event as an event.Event of the CloudEvents SDK's
// package github.com/cloudevents/sdk-go/v2/event. Import that package, not
// the SDK's root package, which brings its HTTP client and zap along.
//
// For each POST the receiver checks the bearer token if one is configured,
// the body size, the signature and its timestamp (which limits replays),
// parses the event in structured mode (application/cloudevents+json, the
// default) or binary mode (ce-* headers), skips a delivery the idempotency
// [Store] has seen (by webhook-id, the delivery id), and calls the handler. It answers OPTIONS with the CNCF abuse-protection handshake, so
// ketenbus can validate the endpoint before it sends anything.
//
// # Telling ketenbus what happened
//
// The handler's error becomes the HTTP status, and the status tells ketenbus
// what to do next:
//
//	nil                   204  delivered
//	partner.Retry(err)    503  delivered again after Retry-After (DefaultRetryAfter)
//	partner.RetryAfter(err, d)  503 with Retry-After d
//	partner.Reject(err)   400  to the dead letter queue at once, no retries
//	partner.Gone(err)     410  the subscription is retired
//	any other error       500  delivered again on ketenbus's retry schedule (about two days)
//
// Match the sentinels [ErrRetry], [ErrReject] and [ErrGone] with
// [errors.Is]. The text of a Reject or Gone error goes back to ketenbus and
// into its dead letter queue, so it must not hold personal data.
//
// # Delivered events
//
// ketenbus delivers at least once. Each delivery has a delivery id
// ([Delivery.ID]): webhook-id for a webhook, the Ketenbus-Delivery-Id header
// for NATS. It is the same on every retry, replay and retry from the dead
// letter queue of that delivery, and differs for every other delivery, so it
// is the key to deduplicate on. It is not the event id: event ids are unique
// per source only, and politie and ggz may both send "x-1"; deduplicating on
// the event id would drop the second. The event id stays in the event
// (e.ID()), the chain's reference to it, as in a bevestiging's betreft.
//
// An event that matches two subscriptions of one partner is delivered twice,
// once for each subscription, each with its own purpose (doelbinding), its
// own fields and its own delivery id. Each delivery names its subscription in
// the Ketenbus-Subscription header ([Delivery.Subscription]) and its partner
// in Ketenbus-Partner.
//
// The data holds only the fields the partner's subscription allows, so the
// receiver does not validate it against the catalog's schemas: required
// fields may be absent. The extension "sequence" carries the event's
// position in the ketenbus EVENTS stream ([Sequence]); the handler's context
// carries the delivery's id, subscription, timestamp and W3C trace context
// ([DeliveryFromContext]). The signature covers webhook-id, webhook-timestamp
// and the body, not the other headers: in binary mode the ce-* attributes
// are not signed.
//
// # NATS-native partners
//
// A partner with NATS access consumes its deliveries with [Consume], which
// maps the handler's result to Ack, NakWithDelay or Term in the same spirit.
package partner
