package events

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// NATS subjects and JetStream streams of ketenbus.
const (
	StreamEvents   = "EVENTS"
	StreamDelivery = "DELIVERY"
	StreamDLQ      = "DLQ"
	StreamAudit    = "AUDIT"

	SubjectEventsAll   = "ketenbus.events.>"
	SubjectDeliveryAll = "ketenbus.deliver.>"
	SubjectDLQAll      = "ketenbus.dlq.>"
	SubjectAuditAll    = "ketenbus.audit.>"
)

// Producer is the partner segment of the EVENTS subjects of the events
// ketenbus itself produces (escalatie, samenloop); no partner has this id.
const Producer = "ketenbus"

// EventSubject returns the EVENTS subject of an event of type t published by
// partner: ketenbus.events.<event>.<version>.<partner>. It returns "" for a
// type outside the catalog's naming.
func EventSubject(t, partner string) string {
	event, version, ok := SplitType(t)
	if !ok {
		return ""
	}
	return "ketenbus.events." + event + "." + version + "." + partner
}

// SubjectPartner returns the partner segment of an EVENTS subject
// (ketenbus.events.<event>.<version>.<partner>): who published the event.
func SubjectPartner(subject string) string {
	if i := strings.LastIndexByte(subject, '.'); i >= 0 {
		return subject[i+1:]
	}
	return ""
}

// EventTypeSubject returns the EVENTS subject filter for every event of type
// t, whoever published it: ketenbus.events.<event>.<version>.*
func EventTypeSubject(t string) string {
	event, version, ok := SplitType(t)
	if !ok {
		return ""
	}
	return "ketenbus.events." + event + "." + version + ".*"
}

// DeliverySubject returns the DELIVERY subject of a partner.
func DeliverySubject(partner string) string { return "ketenbus.deliver." + partner }

// DLQSubject returns the dead letter subject of a partner.
func DLQSubject(partner string) string { return "ketenbus.dlq." + partner }

// AuditSubject returns the AUDIT subject of a partner.
func AuditSubject(partner string) string { return "ketenbus.audit." + partner }

// MsgID returns the deterministic Nats-Msg-Id of the event (source, id):
// the first 16 bytes of the SHA-256 of source, a NUL byte and id, in hex.
// The same event always gets the same id, so JetStream stores it once.
func MsgID(source, id string) string {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(id))
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// DeliveryID returns the id of the delivery of an event (by its
// Nats-Msg-Id, see [MsgID]) to a partner's subscription: the first 16 bytes
// of the SHA-256 of partner, subscription and eventMsgID, separated by NUL
// bytes, in hex. The router stores the live delivery on DELIVERY under it
// (its Nats-Msg-Id), so a redelivered event is stored once, and sends it
// along in every delivery, live or replayed, in the Ketenbus-Delivery-Id
// header; webhooks carry it as webhook-id. It differs for each partner and
// subscription and for each (source, id), so it is the key a receiver
// deduplicates on; the event id alone is not unique across sources.
func DeliveryID(partner, subscription, eventMsgID string) string {
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
