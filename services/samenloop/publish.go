package samenloop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/outbox"
	"github.com/ketenbus/ketenbus/services/shared/samenloopindex"
)

// involved is what a samenloop event may say about one partner.
type involved struct {
	first   samenloopindex.Signal  // its oldest live signaal
	refs    []events.EventRef      // its live signalen, oldest first
	contact *events.Contactpersoon // from its latest readable signaal
}

// samenloopEvents builds the events of partner out.Joined joining the
// samenloop on person with signaal trigger.
func (s *Service) samenloopEvents(ctx context.Context, person string, trigger samenloopindex.Signal, out samenloopindex.Outcome) ([]outbox.Msg, error) {
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
			return nil, r.err
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
	msgs := make([]outbox.Msg, 0, len(letters))
	for _, l := range letters {
		data := events.Samenloop{Ontvanger: l.to, Regievoerder: regie}
		if p := partners[l.to]; p != nil {
			data.Signalen = p.refs
		}
		for _, b := range l.about {
			data.Betrokkenen = append(data.Betrokkenen, s.betrokkene(b, partners[b]))
		}
		msg, err := s.outbox.Build(outbox.Event{
			ID:        bus.SamenloopID(trigger.Key, data.Ontvanger),
			Type:      events.TypeSamenloop,
			Time:      trigger.At,
			Subject:   person,
			Ontvanger: data.Ontvanger,
			Data:      data,
		})
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
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
	// All of a stored signaal that is read: its reference and its
	// contactpersoon. No other data field is decoded.
	ms, err := events.Members(raw.Data)
	if err != nil {
		return events.EventRef{}, nil, nil
	}
	var data struct {
		Contactpersoon *events.Contactpersoon `json:"contactpersoon"`
	}
	if d := events.Lookup(ms, "data"); d != nil && json.Unmarshal(d, &data) != nil {
		return events.EventRef{}, nil, nil
	}
	ref := events.EventRef{Source: events.LookupText(ms, "source"), ID: events.LookupText(ms, "id"), Type: events.LookupText(ms, "type")}
	return ref, data.Contactpersoon, nil
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
