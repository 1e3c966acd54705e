// Package wmjetstream is a Watermill message.Subscriber on nats.go's
// jetstream package, made for ketenbus's delivery semantics (services
// publish with streams.PublishAsync):
//
//   - Subscribe consumes a durable pull consumer and hands messages to the
//     Watermill Router concurrently (up to MaxAckPending in flight); Ack is
//     sent asynchronously after the handler succeeded; Nack can carry a
//     delay (SetNakDelay), so retries are scheduled by the broker, not by a
//     sleeping goroutine.
//   - Settle, a middleware, settles each message in its handler's
//     goroutine as the handler returns; without it a goroutine per message
//     waits for the Router's ack. Consume always adds it.
//
// The streams and consumers are created by their owners (services/shared/streams,
// each service's Run); nothing is auto-provisioned.
package wmjetstream
