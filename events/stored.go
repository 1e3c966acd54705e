package events

import (
	"bytes"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Attributes returns the context attributes and extensions of a stored
// structured CloudEvent, whose members are ms (see AppendMembers), as a
// CloudEvent without data: what a CESQL filter sees. The names and types
// follow the rules ParseStructured applies; a stored event passed them at
// the gateway, so a member that breaks one is left out, never reported.
func Attributes(ms []Member) event.Event {
	e := event.New()
	for _, m := range ms {
		setMember(&e, m.Name, m.Value, nil)
	}
	return e
}

// ReadEvent reads a structured CloudEvent as ketenbus stored it: its
// attributes (see Attributes) and its data, the JSON as stored. It does
// not validate the event again. The error is ErrNotObject or a JSON
// syntax error when b is not one JSON object.
func ReadEvent(b []byte) (event.Event, error) {
	var buf [16]Member
	ms, err := AppendMembers(buf[:0], b)
	if err != nil {
		return event.Event{}, err
	}
	e := Attributes(ms)
	if raw := Lookup(ms, "data"); len(raw) > 0 && raw.Kind() != 'n' {
		setJSONData(&e, bytes.Clone(raw))
	}
	return e, nil
}
