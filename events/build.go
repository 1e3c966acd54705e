package events

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
)

// Data is the data of one event type of the catalog.
type Data interface {
	// EventType returns the CloudEvents type this data belongs to.
	EventType() string
}

// EventType returns TypeSignaal.
func (Signaal) EventType() string { return TypeSignaal }

// EventType returns TypeAanmelding.
func (Aanmelding) EventType() string { return TypeAanmelding }

// EventType returns TypeBevestiging.
func (Bevestiging) EventType() string { return TypeBevestiging }

// EventType returns TypeOverdrachtJeugdWmo.
func (OverdrachtJeugdWmo) EventType() string { return TypeOverdrachtJeugdWmo }

// EventType returns TypeEscalatie.
func (Escalatie) EventType() string { return TypeEscalatie }

// EventType returns TypeSamenloop.
func (Samenloop) EventType() string { return TypeSamenloop }

// Option changes an event that New builds.
type Option func(*event.Event)

// WithID sets the event id (default: a random UUID).
func WithID(id string) Option { return func(e *event.Event) { e.SetID(id) } }

// WithTime sets the time attribute (default: now): the moment the event was
// logged, as the NL GOV profile defines it.
func WithTime(t time.Time) Option { return func(e *event.Event) { e.SetTime(t) } }

// WithExtension sets an extension attribute, such as traceparent.
func WithExtension(name string, value any) Option {
	return func(e *event.Event) { e.SetExtension(name, value) }
}

// New builds a CloudEvent of data's type from source (a URN of the NL GOV
// profile), with a fresh id and the current time, and validates it against
// the catalog. The error is a *ValidationError saying what to fix.
func New(source string, data Data, opts ...Option) (event.Event, error) {
	e := event.New()
	e.SetID(uuid.NewString())
	e.SetSource(source)
	e.SetType(data.EventType())
	e.SetTime(time.Now().UTC())
	b, err := json.Marshal(data)
	if err != nil {
		return e, fmt.Errorf("encode %s data: %w", data.EventType(), err)
	}
	setJSONData(&e, b)
	for _, opt := range opts {
		opt(&e)
	}
	if err := Default().Validate(&e); err != nil {
		return e, err
	}
	return e, nil
}
