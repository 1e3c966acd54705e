// Package wmjetstream is Watermill's message.Publisher and
// message.Subscriber on nats.go's jetstream package, made for ketenbus's
// delivery semantics:
//
//   - Publisher publishes with JetStream's asynchronous publish
//     (streams.StartPublish) and returns once every PubAck came; metadata
//     travel as NATS headers, Nats-Msg-Id among them.
//   - Subscriber consumes a durable pull consumer and hands messages over
//     concurrently (up to MaxAckPending in flight). A message is settled
//     with JetStream when it is acked or nacked, by the Router or any
//     other reader: Ack is sent asynchronously; Nack can carry a delay
//     (SetNakDelay), so retries are scheduled by the broker, not by a
//     sleeping goroutine; Later lets a handler return while it waits for
//     PubAcks, and the ack waits for them.
//   - Recover is the middleware that turns a handler's panic into a nack
//     with a backoff, logged without the panic's value.
//   - Consume runs a Router with one handler on a Subscriber, with Recover.
//
// Both pass Watermill's universal Pub/Sub test suite (pubsub/tests).
// The streams and consumers are created by their owners
// (services/shared/streams, each service's Run); nothing is
// auto-provisioned.
package wmjetstream
