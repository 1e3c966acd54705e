package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// ErrType is returned by Build for an event whose type is not one that
// ketenbus produces.
var ErrType = errors.New("outbox: not a type of system event")

// publishTimeout bounds waiting for the PubAcks of one Publish, its
// events' and then their records'.
const publishTimeout = 10 * time.Second

// kinds holds, per type of system event, what its processing-log record
// is called and the processing activity it records.
var kinds = map[string]struct{ name, activity string }{
	events.TypeEscalatie: {audit.NameEscalatie, audit.ActivityEscalatie},
	events.TypeSamenloop: {audit.NameSamenloop, audit.ActivitySamenloop},
}

// Config configures an Outbox.
type Config struct {
	// JetStream stores the events and the records; required.
	JetStream jetstream.JetStream
	// Region gives the events their source and their TTL, and the records
	// theirs; required.
	Region *region.Config
	// Now is the clock of a record's end. Default time.Now.
	Now func() time.Time
}

// Outbox publishes system events and processing-log records. It is safe
// for concurrent use.
type Outbox struct {
	js     jetstream.JetStream
	region *region.Config
	audit  *audit.Writer
	now    func() time.Time
}

// New returns the Outbox of cfg.
func New(cfg Config) *Outbox {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Outbox{js: cfg.JetStream, region: cfg.Region, audit: audit.NewWriter(cfg.JetStream, cfg.Region), now: cfg.Now}
}

// Event is a system event: one that ketenbus itself produces for one
// ontvanger.
type Event struct {
	// ID is derived from what caused the event: the same cause, the same
	// id.
	ID string
	// Type is events.TypeEscalatie or events.TypeSamenloop.
	Type string
	Time time.Time
	// Subject is the pseudonym of the person the event is about; "" when
	// it is about nobody.
	Subject string
	// Ontvanger is the partner the event is for.
	Ontvanger string
	// Data is the event's data, encoded as JSON.
	Data any
}

// Msg is a built system event: its message on EVENTS and what its
// processing-log record says.
type Msg struct {
	// Msg stores the event on EVENTS; read it, never write.
	Msg        *nats.Msg
	processing audit.Processing
}

// Build returns the message of ev (see the package doc). The error wraps
// ErrType for a type ketenbus does not produce, or says why the event
// cannot be encoded.
func (o *Outbox) Build(ev Event) (Msg, error) {
	kind, ok := kinds[ev.Type]
	if !ok {
		return Msg{}, fmt.Errorf("build %s: %w", ev.Type, ErrType)
	}
	ce := cloudevents.NewEvent()
	ce.SetID(ev.ID)
	ce.SetSource(o.region.Source)
	ce.SetType(ev.Type)
	ce.SetTime(ev.Time.UTC())
	if ev.Subject != "" {
		ce.SetSubject(ev.Subject)
	}
	ce.SetExtension(events.ExtensionOntvanger, ev.Ontvanger)
	if err := ce.SetData(events.ContentTypeJSON, ev.Data); err != nil {
		return Msg{}, fmt.Errorf("build %s: %w", ev.Type, err)
	}
	body, err := ce.MarshalJSON()
	if err != nil {
		return Msg{}, fmt.Errorf("build %s: %w", ev.Type, err)
	}
	m := &nats.Msg{
		Subject: events.EventSubject(ev.Type, events.Producer),
		Data:    body,
		Header:  nats.Header{jetstream.MsgIDHeader: {events.MsgID(ce.Source(), ce.ID())}},
	}
	bus.SetTTL(m.Header, o.region.RetentionOf(ev.Type))
	return Msg{Msg: m, processing: audit.Processing{
		Name:     kind.name,
		Activity: kind.activity,
		Partner:  ev.Ontvanger,
		Event:    audit.Event{ID: ce.ID(), Source: ce.Source(), Type: ce.Type(), Subject: ev.Subject},
		Outcome:  audit.OutcomeStored,
	}}, nil
}

// Sent is what Publish did with its messages.
type Sent struct {
	// Done says, per message, whether it is stored on EVENTS and its
	// record in the processing log.
	Done []bool
	// Stored counts the messages JetStream stored; StoreErr is why the
	// first of the others was not stored.
	Stored   int
	StoreErr error
	// LogErr is why the records of the stored messages were not written;
	// none of them is Done then.
	LogErr error
}

// Publish stores msgs on EVENTS, asynchronously, waits for their PubAcks
// (up to 10s, or until ctx ends), and then writes the record of each
// stored one, of a processing that began at start, to the processing log
// and waits for those. Publishing the same messages again, after an
// error, stores each and its record once.
func (o *Outbox) Publish(ctx context.Context, start time.Time, msgs []Msg) Sent {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	nm := make([]*nats.Msg, len(msgs))
	for i, m := range msgs {
		nm[i] = m.Msg
	}
	sent := Sent{Done: make([]bool, len(msgs))}
	results := streams.PublishAsync(ctx, o.js, nm)
	end := o.now()
	entries := make([]audit.Entry, 0, len(msgs))
	for i, res := range results {
		if res.Err != nil {
			if sent.StoreErr == nil {
				sent.StoreErr = res.Err
			}
			continue
		}
		p := msgs[i].processing
		p.Event.Sequence, p.Start, p.End = res.Ack.Sequence, start, end
		entries = append(entries, audit.Entry{Partner: p.Partner, Record: audit.NewRecord(p)})
		sent.Done[i] = true
		sent.Stored++
	}
	if sent.LogErr = o.Log(ctx, entries...); sent.LogErr != nil {
		clear(sent.Done)
	}
	return sent
}

// Log writes entries to the processing log and waits until JetStream
// stored them all. A nil error is the only proof the processings are
// logged: on an error the caller must not ack its input. The error wraps
// audit.ErrPartner for a partner that is not a partner id, or says what
// JetStream said.
func (o *Outbox) Log(ctx context.Context, entries ...audit.Entry) error {
	return o.audit.WriteAll(ctx, entries)
}

// LogMsgs returns the messages that store entries in the processing log,
// for a caller that publishes them with messages of its own and waits for
// all their PubAcks. The error wraps audit.ErrPartner as Log's.
func (o *Outbox) LogMsgs(entries []audit.Entry) ([]*nats.Msg, error) {
	msgs := make([]*nats.Msg, len(entries))
	for i, e := range entries {
		m, err := o.audit.Msg(e.Partner, e.Record)
		if err != nil {
			return nil, err
		}
		msgs[i] = m
	}
	return msgs, nil
}
