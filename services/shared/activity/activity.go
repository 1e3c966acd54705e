package activity

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream and subjects of the activity log.
const (
	Stream     = "ACTIVITY"
	SubjectAll = "ketenbus.activity.>"
	// MaxAge is how long the stream keeps a record.
	MaxAge = 48 * time.Hour
)

// Subject returns the activity subject of a partner.
func Subject(partner string) string { return "ketenbus.activity." + partner }

// Kinds of record.
const (
	// KindAttempt: one delivery attempt ended (delivered, retry, dlq or
	// retired).
	KindAttempt = "attempt"
	// KindCircuit: the partner's circuit breaker changed state.
	KindCircuit = "circuit"
)

// Outcomes of an attempt: the words of the adapter's metric.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeDLQ       = "dlq"
	OutcomeRetired   = "retired"
)

// Circuit states.
const (
	CircuitClosed   = "closed"
	CircuitOpen     = "open"
	CircuitHalfOpen = "half-open"
)

// Record is one entry of the activity log.
type Record struct {
	Time    time.Time `json:"time"`
	Partner string    `json:"partner"`
	Kind    string    `json:"kind"`

	// Attempt records.
	Subscription string `json:"subscription,omitempty"`
	EventID      string `json:"event_id,omitempty"`
	EventType    string `json:"event_type,omitempty"`
	Attempt      int    `json:"attempt,omitempty"`
	// Status is the HTTP status of the answer; 0 when none came.
	Status  int    `json:"status,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	// Reason says why an attempt failed ("http 500", "timeout after 5s");
	// never a response body.
	Reason string `json:"reason,omitempty"`
	// Millis is how long the request took.
	Millis float64 `json:"ms,omitempty"`

	// Circuit records: the new state.
	Circuit string `json:"circuit,omitempty"`
}

// Failed reports whether r is an attempt that did not deliver.
func (r Record) Failed() bool { return r.Kind == KindAttempt && r.Outcome != OutcomeDelivered }

// StreamConfig returns the configuration of the ACTIVITY stream.
func StreamConfig(replicas int, storage jetstream.StorageType) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        Stream,
		Description: "delivery attempts and circuit changes per partner, for the monitor",
		Subjects:    []string{SubjectAll},
		Storage:     storage,
		Replicas:    replicas,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      MaxAge,
		// A partner failing all day cannot push the others out.
		MaxMsgsPerSubject: 100_000,
	}
}

// Publisher publishes records without waiting for JetStream. It is safe
// for concurrent use.
type Publisher struct{ nc *nats.Conn }

// NewPublisher returns a publisher on nc; a nil nc publishes nothing.
func NewPublisher(nc *nats.Conn) *Publisher { return &Publisher{nc: nc} }

// Publish sends r. It returns an error only when r cannot be encoded or
// the connection refuses it (closed, slow); the caller logs and goes on.
func (p *Publisher) Publish(r Record) error {
	if p == nil || p.nc == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("activity: %w", err)
	}
	if err := p.nc.Publish(Subject(r.Partner), b); err != nil {
		return fmt.Errorf("activity: publish: %w", err)
	}
	return nil
}

// Decode reads a record.
func Decode(b []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("activity: %w", err)
	}
	return r, nil
}
