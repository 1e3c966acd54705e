package bus

import "github.com/ketenbus/ketenbus/events"

// Headers of a delivery message.
const (
	HeaderPartner      = "Ketenbus-Partner"
	HeaderSubscription = "Ketenbus-Subscription"
	// HeaderPurpose is the subscription's purpose (processing activity).
	HeaderPurpose = "Ketenbus-Purpose"
	// HeaderEventSequence is the EVENTS stream sequence of the event.
	HeaderEventSequence = "Ketenbus-Event-Sequence"
	// HeaderReplay marks a delivery made by a replay; its value is the
	// replay id.
	HeaderReplay = "Ketenbus-Replay"
	// HeaderDeliveryID is the delivery id (events.DeliveryID): the
	// Nats-Msg-Id of the live delivery, the same in every replay and DLQ
	// retry of it, and the webhook-id of its requests.
	HeaderDeliveryID = "Ketenbus-Delivery-Id"
)

// Headers of a dead letter (DLQ) message, besides the delivery's own.
const (
	HeaderDLQReason       = "Ketenbus-Dlq-Reason"
	HeaderDLQStatus       = "Ketenbus-Dlq-Status"
	HeaderDLQBody         = "Ketenbus-Dlq-Body"
	HeaderDLQAttempts     = "Ketenbus-Dlq-Attempts"
	HeaderDLQFirstAttempt = "Ketenbus-Dlq-First-Attempt"
	HeaderDLQLastAttempt  = "Ketenbus-Dlq-Last-Attempt"
)

// DeliveryID returns the delivery id of a delivery message: its
// HeaderDeliveryID header (header is its value), or, for a message stored
// before the router set that header, the id the router gives the delivery
// of the event (source, id) to partner's subscription,
// events.DeliveryID(partner, subscription, events.MsgID(source, id)). A
// retry, a replay and a DLQ retry of one delivery carry the same id.
func DeliveryID(header, partner, subscription, source, id string) string {
	if header != "" {
		return header
	}
	return events.DeliveryID(partner, subscription, events.MsgID(source, id))
}
