package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/ketenbus/ketenbus/events"
)

// Names of the records (the span names).
const (
	// NameDeliver: an event delivered to a partner (webhook, or stored on
	// DELIVERY for a NATS-native partner to pull), or given up on.
	NameDeliver = "ketenbus.deliver"
	// NameEscalatie: an escalatie ketenbus produced for its ontvanger.
	NameEscalatie = "ketenbus.escalatie"
	// NameSamenloop: a samenloop event ketenbus produced for its ontvanger.
	NameSamenloop = "ketenbus.samenloop"
)

// Processing activities of the events ketenbus itself produces; the
// deliveries carry their subscription's purpose instead.
const (
	ActivityEscalatie = "urn:nld:ketenbus:verwerkingsactiviteit:escalatie"
	ActivitySamenloop = "urn:nld:ketenbus:verwerkingsactiviteit:samenloop"
)

// Status codes of a record.
const (
	StatusOK    = "OK"
	StatusError = "ERROR"
)

// Outcomes (attribute ketenbus.outcome).
const (
	// OutcomeDelivered: the partner's webhook answered 2xx.
	OutcomeDelivered = "delivered"
	// OutcomeDLQ: the delivery failed for good and is in the DLQ.
	OutcomeDLQ = "dlq"
	// OutcomeRetired: the subscription is retired (410 Gone); the delivery
	// is in the DLQ.
	OutcomeRetired = "retired"
	// OutcomeStored: the event is stored for the partner: on DELIVERY for a
	// NATS-native partner to pull, or on EVENTS (escalatie, samenloop) to
	// be routed to its ontvanger.
	OutcomeStored = "stored"
)

// Attribute keys of a record.
const (
	AttrProcessingActivity = "dpl.core.processing_activity_id"
	AttrDataSubject        = "dpl.core.data_subject_id"
	AttrDataSubjectType    = "dpl.core.data_subject_id_type"
	AttrPartner            = "ketenbus.partner"
	AttrSubscription       = "ketenbus.subscription"
	AttrEventID            = "ketenbus.event.id"
	AttrEventSource        = "ketenbus.event.source"
	AttrEventType          = "ketenbus.event.type"
	AttrEventSequence      = "ketenbus.event.sequence"
	AttrOutcome            = "ketenbus.outcome"
	AttrReason             = "ketenbus.reason"
	AttrReplay             = "ketenbus.replay"
)

// DataSubjectType is the value of dpl.core.data_subject_id_type: the data
// subject id is the region's keyed pseudonym of the BSN.
const DataSubjectType = "ketenbus-pseudoniem"

// Record is one processing of personal data, shaped after the Logius
// standard "Logboek Dataverwerkingen" (an OpenTelemetry-style span). Times
// are UTC. Build one with NewRecord.
type Record struct {
	// TraceID is 32 hex digits: the trace id of the event's W3C traceparent
	// when it has one, else derived from the event's source and id, so
	// every record about one event shares it.
	TraceID string `json:"trace_id"`
	// SpanID is 16 hex digits, derived from what the record is about.
	SpanID string `json:"span_id"`
	// ParentSpanID is the parent id of the event's traceparent, if any.
	ParentSpanID string            `json:"parent_span_id,omitempty"`
	Name         string            `json:"name"`
	StartTime    time.Time         `json:"start_time"`
	EndTime      time.Time         `json:"end_time"`
	StatusCode   string            `json:"status_code"`
	Attributes   map[string]string `json:"attributes"`
}

// ID returns the record's id, its trace id and span id: the same
// processing always gets the same id.
func (r Record) ID() string { return r.TraceID + r.SpanID }

// Attr returns attribute key ("" when absent).
func (r Record) Attr(key string) string { return r.Attributes[key] }

// Event is what a record says about the event processed: its context
// attributes, never its data.
type Event struct {
	ID, Source, Type string
	// Subject is the pseudonym of the person the event is about; empty
	// when it is about nobody.
	Subject string
	// Traceparent is the W3C traceparent extension, if any.
	Traceparent string
	// Sequence is its EVENTS stream sequence; 0 when unknown.
	Sequence uint64
}

// Processing describes one processing, for NewRecord.
type Processing struct {
	// Name is NameDeliver, NameEscalatie or NameSamenloop.
	Name string
	// Activity is the processing activity id: the subscription's purpose,
	// or ActivityEscalatie / ActivitySamenloop.
	Activity string
	// Partner received the event, or it is for; Subscription is the
	// partner's subscription, if any.
	Partner, Subscription string
	Event                 Event
	// Outcome is one of the Outcome constants; Reason says why a delivery
	// failed.
	Outcome, Reason string
	// Replay is the replay id of a delivery made by a replay: a new
	// processing, so a new record.
	Replay     string
	Start, End time.Time
}

// NewRecord returns the record of p. Its ids are derived from the event
// (source, id), the partner, the subscription, the name, the outcome and
// the replay id: the same processing logged twice gets the same ids, and
// JetStream stores it once. Outcomes dlq and retired have status ERROR,
// every other OK.
func NewRecord(p Processing) Record {
	r := Record{
		Name:       p.Name,
		StartTime:  p.Start.UTC(),
		EndTime:    p.End.UTC(),
		StatusCode: StatusOK,
		Attributes: map[string]string{},
	}
	if r.EndTime.Before(r.StartTime) {
		r.EndTime = r.StartTime
	}
	if p.Outcome == OutcomeDLQ || p.Outcome == OutcomeRetired {
		r.StatusCode = StatusError
	}
	trace := digest(p.Event.Source, p.Event.ID)
	r.TraceID = hex.EncodeToString(trace[:16])
	if tid, parent, ok := parseTraceparent(p.Event.Traceparent); ok {
		r.TraceID, r.ParentSpanID = tid, parent
	}
	span := digest(p.Event.Source, p.Event.ID, p.Partner, p.Subscription, p.Name, p.Outcome, p.Replay)
	r.SpanID = hex.EncodeToString(span[:8])

	set := func(k, v string) {
		if v != "" {
			r.Attributes[k] = v
		}
	}
	set(AttrProcessingActivity, p.Activity)
	// Only a pseudonym is a data subject id: anything else an event might
	// carry as its subject stays out of the log.
	if ValidDataSubject(p.Event.Subject) {
		r.Attributes[AttrDataSubject] = p.Event.Subject
		r.Attributes[AttrDataSubjectType] = DataSubjectType
	}
	set(AttrPartner, p.Partner)
	set(AttrSubscription, p.Subscription)
	set(AttrEventID, events.RedactBSNs(p.Event.ID)) // the publisher chose it
	set(AttrEventSource, p.Event.Source)
	set(AttrEventType, p.Event.Type)
	if p.Event.Sequence > 0 {
		r.Attributes[AttrEventSequence] = strconv.FormatUint(p.Event.Sequence, 10)
	}
	set(AttrOutcome, p.Outcome)
	set(AttrReason, p.Reason)
	set(AttrReplay, p.Replay)
	return r
}

// digest is the SHA-256 of parts, each followed by a NUL byte.
func digest(parts ...string) [sha256.Size]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// parseTraceparent returns the trace id and parent id of a W3C
// traceparent (version-traceid-parentid-flags), ok false when it is not
// one or its ids are all zeros.
func parseTraceparent(tp string) (traceID, parentID string, ok bool) {
	parts := strings.Split(strings.TrimSpace(tp), "-")
	if len(parts) < 4 || len(parts[0]) != 2 || parts[0] == "ff" || len(parts[1]) != 32 || len(parts[2]) != 16 || len(parts[3]) != 2 {
		return "", "", false
	}
	if parts[0] == "00" && len(parts) != 4 {
		return "", "", false
	}
	for _, p := range parts[:4] {
		if !isLowerHex(p) {
			return "", "", false
		}
	}
	if strings.Trim(parts[1], "0") == "" || strings.Trim(parts[2], "0") == "" {
		return "", "", false
	}
	return parts[1], parts[2], true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ValidDataSubject reports whether s can be a data subject id: a pseudonym
// of 64 lowercase hex digits.
func ValidDataSubject(s string) bool {
	return len(s) == events.PseudonymLen && isLowerHex(s)
}
