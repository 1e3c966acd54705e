// Package bus is the contract of ketenbus's NATS JetStream bus between the
// services, natsauth and the tools: the headers a message carries, every
// message id (Nats-Msg-Id) a service derives, the names and configs of the
// durable consumers, per-message TTLs, and the key-value bucket of retired
// subscriptions. Nobody builds one of these by hand.
//
// The subjects and stream names are part of the partner SDK, since
// NATS-native partners need them too: see package events
// (events.EventSubject, events.DeliverySubject, events.StreamEvents, …).
// The event id itself is events.MsgID(source, id); the delivery id is
// events.DeliveryID, which partners deduplicate on.
//
// A delivery message is a structured CloudEvent (JSON) on subject
// ketenbus.deliver.<partner>: the event as stored in EVENTS, its data
// reduced to the subscription's allowed fields, with the extension
// sequence set to its EVENTS stream sequence. Its headers say for whom and
// why.
package bus
