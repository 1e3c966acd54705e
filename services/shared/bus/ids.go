package bus

import (
	"strconv"

	"github.com/ketenbus/ketenbus/events"
)

// The message ids below are deterministic: the same inputs always give the
// same id, so JetStream's duplicate window stores a message published
// twice (after a crash, a retry, a redelivery) once. Changing one changes
// what is counted as a duplicate: the chaos suite (make chaos) checks them.

// EscalatieID returns the id (and so, with the region's source, the
// Nats-Msg-Id) of the escalatie of level of the timer timerID
// (events.MsgID of the watched event) for partner.
func EscalatieID(timerID string, level int, partner string) string {
	return events.MsgID(timerID, strconv.Itoa(level)+":"+partner)
}

// SamenloopID returns the id of the samenloop event that the signaal with
// key signaalKey (events.MsgID of the signaal) caused for ontvanger.
func SamenloopID(signaalKey, ontvanger string) string {
	return events.MsgID(signaalKey, "samenloop:"+ontvanger)
}

// ReplayMsgID returns the Nats-Msg-Id of a delivery replayed by replay:
// JetStream does not take it for the live delivery (deliveryID, its
// Nats-Msg-Id) or another replay's, but stores a publish retried within
// the replay once.
func ReplayMsgID(replay, deliveryID string) string { return deliveryID + "-replay-" + replay }

// DeadLetterMsgID returns the Nats-Msg-Id of the dead letter of a delivery
// to partner: the delivery's own msgID, so storing it twice stores it
// once, or, for a delivery that has none, one made of its DELIVERY stream
// sequence.
func DeadLetterMsgID(partner, msgID string, seq uint64) string {
	if msgID != "" {
		return msgID
	}
	return events.DeliveryID(partner, "dlq", strconv.FormatUint(seq, 10))
}

// DLQRetryMsgID returns the Nats-Msg-Id of the copy on DELIVERY of the dead
// letter at DLQ sequence seq, whose own Nats-Msg-Id is msgID: retrying the
// same letter twice stores it once; it never collides with the live
// delivery's.
func DLQRetryMsgID(partner string, seq uint64, msgID string) string {
	return events.DeliveryID(partner, "dlq-retry/"+strconv.FormatUint(seq, 10), msgID)
}
