// Package delivery is the contract between the router, which puts one
// message per (partner, subscription) on DELIVERY, and whatever takes it
// from there: the webhook adapter, a NATS-native partner, replay and the
// DLQ tools.
//
// A delivery message is a structured CloudEvent (JSON) on subject
// ketenbus.deliver.<partner>: the event as stored in EVENTS, its data
// reduced to the subscription's allowed fields, with the extension
// sequence set to its EVENTS stream sequence. Its headers say for whom and
// why.
package delivery

import (
	"crypto/sha256"
	"encoding/hex"
)

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

// MsgID returns the Nats-Msg-Id of the delivery of an event (by its own
// Nats-Msg-Id, see events.MsgID) to a partner's subscription. The same
// inputs always give the same id, so a redelivered event is stored on
// DELIVERY once.
func MsgID(partner, subscription, eventMsgID string) string {
	var buf [256]byte
	in := append(buf[:0], partner...)
	in = append(in, 0)
	in = append(in, subscription...)
	in = append(in, 0)
	in = append(in, eventMsgID...)
	sum := sha256.Sum256(in)
	var out [32]byte
	hex.Encode(out[:], sum[:16])
	return string(out[:])
}
