package samenloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/audit"
	"github.com/ketenbus/ketenbus/services/samenloop/index"
	"github.com/ketenbus/ketenbus/services/streams"
	"github.com/ketenbus/ketenbus/services/wmjetstream"
)

// Handle applies one event of EVENTS. It returns nil (the event is acked)
// only after the index and the samenloop events it caused are stored;
// while Redis or JetStream cannot store them it returns an error and the
// event comes back with a delay.
func (s *Service) Handle(msg *message.Message) error {
	seq := wmjetstream.StreamSeq(msg)
	var ev cloudevents.Event
	if err := ev.UnmarshalJSON(msg.Payload); err != nil {
		s.cfg.Logger.Error("event unreadable; skipped", slog.Uint64("sequence", seq))
		return nil
	}
	in := Input{
		Event:  ev,
		Sender: events.SubjectPartner(msg.Metadata.Get(wmjetstream.MetaSubject)),
		Seq:    seq,
		Stored: wmjetstream.Timestamp(msg),
	}
	err := s.Apply(msg.Context(), in, true)
	switch {
	case err == nil:
		return nil
	case isInvalid(err):
		s.cfg.Logger.Error("event cannot be indexed; skipped", slog.String("type", ev.Type()), slog.Uint64("sequence", seq), slog.String("error", err.Error()))
		return nil
	}
	wmjetstream.SetNakDelay(msg, wmjetstream.Backoff(wmjetstream.NumDelivered(msg)))
	s.cfg.Logger.Warn("samenloop not stored; the event comes back", slog.String("type", ev.Type()), slog.Uint64("sequence", seq), slog.String("error", err.Error()))
	return err
}

// Input is one event of EVENTS as the service sees it.
type Input struct {
	Event cloudevents.Event
	// Sender is the partner that published it (from its subject).
	Sender string
	// Seq is its EVENTS sequence and Stored when EVENTS stored it.
	Seq    uint64
	Stored time.Time
}

// Apply applies one signaal or bevestiging to the index: the same logic
// for live events and for a rebuild. With publish, the samenloop events
// a signaal causes are stored on EVENTS, and a record of each in the
// processing log, before Apply returns.
func (s *Service) Apply(ctx context.Context, in Input, publish bool) error {
	switch in.Event.Type() {
	case events.TypeSignaal:
		return s.signaal(ctx, in, publish)
	case events.TypeBevestiging:
		return s.bevestiging(ctx, in)
	}
	return nil
}

func (s *Service) signaal(ctx context.Context, in Input, publish bool) error {
	ev := in.Event
	at := ev.Time()
	if at.IsZero() {
		at = in.Stored
	}
	sig := index.Signal{Key: events.MsgID(ev.Source(), ev.ID()), Partner: in.Sender, At: at, Seq: in.Seq}
	out, err := s.index.Add(ctx, ev.Subject(), sig, s.cfg.Region.Samenloop.Regievoerder, s.cfg.Now())
	s.observe(err)
	if err != nil {
		return err
	}
	if out.Joined == "" {
		s.metrics.signalen.WithLabelValues("nothing").Inc()
		return nil
	}
	s.metrics.signalen.WithLabelValues("joined").Inc()
	if !publish {
		return nil
	}
	start := s.cfg.Now()
	msgs, logs, err := s.samenloopEvents(ctx, ev.Subject(), sig, out)
	if err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	results := streams.PublishAsync(wait, s.cfg.JetStream, msgs)
	if err := streams.FirstError(results); err != nil {
		return fmt.Errorf("store samenloop events: %w", err)
	}
	// A redelivered signaal gets its first outcome again (see index.Add):
	// the same events, stored once, and the same records, logged once.
	end := s.cfg.Now()
	entries := make([]audit.Entry, len(logs))
	for i, p := range logs {
		p.Event.Sequence, p.Start, p.End = results[i].Ack.Sequence, start, end
		entries[i] = audit.Entry{Partner: p.Partner, Record: audit.NewRecord(p)}
	}
	if err := s.audit.WriteAll(wait, entries); err != nil {
		return fmt.Errorf("log samenloop events: %w", err)
	}
	s.metrics.joined.Inc()
	s.metrics.events.Add(float64(len(msgs)))
	return nil
}

func (s *Service) bevestiging(ctx context.Context, in Input) error {
	var d events.Bevestiging
	if err := in.Event.DataAs(&d); err != nil {
		return nil // the gateway validated it; nothing to remove
	}
	if d.Status != events.StatusAfgerond || (d.Betreft.Type != "" && d.Betreft.Type != events.TypeSignaal) {
		return nil
	}
	r, err := s.index.Remove(ctx, events.MsgID(d.Betreft.Source, d.Betreft.ID), in.Sender, s.cfg.Region.Samenloop.Regievoerder, s.cfg.Now())
	s.observe(err)
	if err != nil {
		return err
	}
	switch r {
	case index.Removed:
		s.metrics.removed.WithLabelValues("afgerond").Inc()
	case index.NotAllowed:
		s.metrics.refused.Inc()
		s.cfg.Logger.Info("bevestiging afgerond on a signaal from a partner that neither signalled it nor is the regievoerder; the signaal stays",
			slog.String("from", in.Sender), slog.Uint64("sequence", in.Seq))
	}
	return nil
}

// isInvalid reports an event the index cannot take (no pseudonym as its
// subject, say): retrying cannot help.
func isInvalid(err error) bool { return errors.Is(err, index.ErrInvalid) }
