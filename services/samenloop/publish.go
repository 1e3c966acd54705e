package samenloop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/samenloopindex"
)

// involved is what a samenloop event may say about one partner.
type involved struct {
	first   samenloopindex.Signal  // its oldest live signaal
	refs    []events.EventRef      // its live signalen, oldest first
	contact *events.Contactpersoon // from its latest readable signaal
}

// samenloopEvents builds the events of partner out.Joined joining the
// samenloop on person with signaal trigger, and what the record of each in
// the processing log says.
func (s *Service) samenloopEvents(ctx context.Context, person string, trigger samenloopindex.Signal, out samenloopindex.Outcome) ([]*nats.Msg, []audit.Processing, error) {
	// Read the signalen at once: each read is a round trip to EVENTS.
	type read struct {
		ref     events.EventRef
		contact *events.Contactpersoon
		err     error
	}
	reads := make([]read, len(out.Signals))
	var wg sync.WaitGroup
	for i, sig := range out.Signals {
		wg.Go(func() { reads[i].ref, reads[i].contact, reads[i].err = s.readSignaal(ctx, sig) })
	}
	wg.Wait()
	partners := map[string]*involved{}
	for i, sig := range out.Signals {
		p := partners[sig.Partner]
		if p == nil {
			p = &involved{first: sig}
			partners[sig.Partner] = p
		}
		r := reads[i]
		if r.err != nil {
			return nil, nil, r.err
		}
		if r.ref.ID != "" {
			p.refs = append(p.refs, r.ref)
		}
		if r.contact != nil {
			p.contact = r.contact
		}
	}
	regie := s.cfg.Region.Samenloop.Regievoerder
	type letter struct {
		to    string
		about []string
	}
	var letters []letter
	if out.Joined != regie {
		letters = append(letters, letter{out.Joined, out.Others})
	}
	for _, o := range out.Others {
		if o != regie {
			letters = append(letters, letter{o, []string{out.Joined}})
		}
	}
	if regie != "" {
		letters = append(letters, letter{regie, append(append([]string(nil), out.Others...), out.Joined)})
	}
	msgs := make([]*nats.Msg, 0, len(letters))
	logs := make([]audit.Processing, 0, len(letters))
	for _, l := range letters {
		data := events.Samenloop{Ontvanger: l.to, Regievoerder: regie}
		if p := partners[l.to]; p != nil {
			data.Signalen = p.refs
		}
		for _, b := range l.about {
			data.Betrokkenen = append(data.Betrokkenen, s.betrokkene(b, partners[b]))
		}
		msg, p, err := s.event(person, trigger, data)
		if err != nil {
			return nil, nil, err
		}
		msgs = append(msgs, msg)
		logs = append(logs, p)
	}
	return msgs, logs, nil
}

// betrokkene describes partner id, involved as p.
func (s *Service) betrokkene(id string, p *involved) events.Betrokkene {
	name := s.partners[id].Name
	if name == "" {
		name = id // a partner no longer in the region config
	}
	b := events.Betrokkene{Partner: id, Naam: name, Contactpersoon: events.Contactpersoon{Naam: name}}
	if p == nil {
		return b
	}
	b.GesignaleerdOp = p.first.At
	if p.contact != nil {
		b.Contactpersoon = *p.contact
	}
	return b
}

// event builds the samenloop event for data.Ontvanger, and what its
// record in the processing log says.
func (s *Service) event(person string, trigger samenloopindex.Signal, data events.Samenloop) (*nats.Msg, audit.Processing, error) {
	ev := cloudevents.NewEvent()
	ev.SetID(bus.SamenloopID(trigger.Key, data.Ontvanger))
	ev.SetSource(s.cfg.Region.Source)
	ev.SetType(events.TypeSamenloop)
	ev.SetTime(trigger.At.UTC())
	ev.SetSubject(person)
	ev.SetExtension(events.ExtensionOntvanger, data.Ontvanger)
	if err := ev.SetData(events.ContentTypeJSON, data); err != nil {
		return nil, audit.Processing{}, fmt.Errorf("samenloop event: %w", err)
	}
	body, err := ev.MarshalJSON()
	if err != nil {
		return nil, audit.Processing{}, fmt.Errorf("samenloop event: %w", err)
	}
	m := &nats.Msg{
		Subject: events.EventSubject(events.TypeSamenloop, events.Producer),
		Data:    body,
		Header:  nats.Header{jetstream.MsgIDHeader: {events.MsgID(ev.Source(), ev.ID())}},
	}
	bus.SetTTL(m.Header, s.cfg.Region.RetentionOf(events.TypeSamenloop))
	return m, audit.Processing{
		Name:     audit.NameSamenloop,
		Activity: audit.ActivitySamenloop,
		Partner:  data.Ontvanger,
		Event:    audit.Event{ID: ev.ID(), Source: ev.Source(), Type: ev.Type(), Subject: person},
		Outcome:  audit.OutcomeStored,
	}, nil
}

// storedSignaal is all of a stored signaal that is read: its reference
// and its contactpersoon. No other data field is decoded.
type storedSignaal struct {
	Source string `json:"source"`
	ID     string `json:"id"`
	Type   string `json:"type"`
	Data   struct {
		Contactpersoon *events.Contactpersoon `json:"contactpersoon"`
	} `json:"data"`
}

// readSignaal reads sig from EVENTS. A signaal that is no longer there
// (the stream was purged) gives a zero reference and no contact; only
// JetStream failing is an error.
func (s *Service) readSignaal(ctx context.Context, sig samenloopindex.Signal) (events.EventRef, *events.Contactpersoon, error) {
	st, err := s.eventsStream(ctx)
	if err != nil {
		return events.EventRef{}, nil, err
	}
	raw, err := st.GetMsg(ctx, sig.Seq)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return events.EventRef{}, nil, nil
	case err != nil:
		return events.EventRef{}, nil, fmt.Errorf("read signaal at %d: %w", sig.Seq, err)
	case raw.Header.Get(jetstream.MsgIDHeader) != sig.Key:
		return events.EventRef{}, nil, nil
	}
	var e storedSignaal
	if err := json.Unmarshal(raw.Data, &e); err != nil {
		return events.EventRef{}, nil, nil
	}
	return events.EventRef{Source: e.Source, ID: e.ID, Type: e.Type}, e.Data.Contactpersoon, nil
}

// eventsStream returns EVENTS, looked up once.
func (s *Service) eventsStream(ctx context.Context) (jetstream.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream == nil {
		st, err := s.cfg.JetStream.Stream(ctx, events.StreamEvents)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", events.StreamEvents, err)
		}
		s.stream = st
	}
	return s.stream, nil
}
