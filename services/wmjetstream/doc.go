// Package wmjetstream is a Watermill message.Publisher and message.Subscriber
// on nats.go's jetstream package, made for ketenbus's delivery semantics:
//
//   - Publish(topic, msgs...) publishes every message asynchronously and
//     returns once JetStream stored all of them (one round trip per call,
//     not per message). Each message's Nats-Msg-Id is its UUID, so a
//     republish after a crash is stored once.
//   - Subscribe consumes a durable pull consumer and hands messages to the
//     Watermill Router concurrently (up to MaxAckPending in flight); Ack is
//     sent asynchronously after the handler succeeded; Nack can carry a
//     delay (SetNakDelay), so retries are scheduled by the broker, not by a
//     sleeping goroutine.
//
// The streams and consumers are created by their owners (services/streams,
// each service's Run); nothing is auto-provisioned.
package wmjetstream
