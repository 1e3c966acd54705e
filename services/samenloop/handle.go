package samenloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/samenloopindex"
)

// Input is one event of EVENTS as the service sees it.
type Input = projector.Input

// Handle applies one event of EVENTS. It returns nil (the event is acked)
// only after the index and the samenloop events it caused are stored;
// while Redis or JetStream cannot store them it returns an error and the
// event comes back with a delay. While the index is being rebuilt it
// waits for it (up to projector.HoldFor, then the event comes back after
// a second).
func (s *Service) Handle(msg *message.Message) error { return s.proj.Handle(msg) }

// Apply applies one signaal or bevestiging, at EVENTS sequence in.Seq, to
// the index as the live service does: the same logic as a rebuild. With
// publish, the samenloop events a signaal causes are stored on EVENTS,
// and a record of each in the processing log, before Apply returns. An
// event that changes nothing is noted in the index's marker. Errors wrap
// projection.ErrIncomplete while the index is not complete.
func (s *Service) Apply(ctx context.Context, in Input, publish bool) error {
	w := projection.Live(in.Seq)
	ix := s.unguarded.For(w)
	if err := s.apply(ctx, ix, in, publish); err != nil {
		return err
	}
	if !w.Wrote() {
		return ix.Note(ctx)
	}
	return nil
}

// apply applies one signaal or bevestiging to the index ix.
func (s *Service) apply(ctx context.Context, ix *samenloopindex.Index, in Input, publish bool) error {
	switch in.Event.Type() {
	case events.TypeSignaal:
		return s.signaal(ctx, ix, in, publish)
	case events.TypeBevestiging:
		return s.bevestiging(ctx, ix, in)
	}
	return nil
}

func (s *Service) signaal(ctx context.Context, ix *samenloopindex.Index, in Input, publish bool) error {
	ev := in.Event
	at := ev.Time()
	if at.IsZero() {
		at = in.Stored
	}
	sig := samenloopindex.Signal{Key: events.MsgID(ev.Source(), ev.ID()), Partner: in.Sender, At: at, Seq: in.Seq}
	out, err := ix.Add(ctx, ev.Subject(), sig, s.cfg.Region.Samenloop.Regievoerder, s.cfg.Now())
	s.proj.Observe(err)
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
	msgs, err := s.samenloopEvents(ctx, ev.Subject(), sig, out)
	if err != nil {
		return err
	}
	// A redelivered signaal gets its first outcome again (see index.Add):
	// the same events, stored once, and the same records, logged once.
	sent := s.outbox.Publish(ctx, start, msgs)
	if sent.StoreErr != nil {
		return fmt.Errorf("store samenloop events: %w", sent.StoreErr)
	}
	if sent.LogErr != nil {
		return fmt.Errorf("log samenloop events: %w", sent.LogErr)
	}
	s.metrics.joined.Inc()
	s.metrics.events.Add(float64(len(msgs)))
	return nil
}

func (s *Service) bevestiging(ctx context.Context, ix *samenloopindex.Index, in Input) error {
	var d events.Bevestiging
	if err := in.Event.DataAs(&d); err != nil {
		return nil // the gateway validated it; nothing to remove
	}
	if d.Status != events.StatusAfgerond || (d.Betreft.Type != "" && d.Betreft.Type != events.TypeSignaal) {
		return nil
	}
	r, err := ix.Remove(ctx, events.MsgID(d.Betreft.Source, d.Betreft.ID), in.Sender, s.cfg.Region.Samenloop.Regievoerder, s.cfg.Now())
	s.proj.Observe(err)
	if err != nil {
		return err
	}
	switch r {
	case samenloopindex.Removed:
		s.metrics.removed.WithLabelValues("afgerond").Inc()
	case samenloopindex.NotAllowed:
		s.metrics.refused.Inc()
		s.cfg.Logger.Info("bevestiging afgerond on a signaal from a partner that neither signalled it nor is the regievoerder; the signaal stays",
			slog.String("from", in.Sender), slog.Uint64("sequence", in.Seq))
	}
	return nil
}

// isInvalid reports an event the index cannot take (no pseudonym as its
// subject, say): retrying cannot help.
func isInvalid(err error) bool { return errors.Is(err, samenloopindex.ErrInvalid) }
