package samenloop

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// Rebuild replaces the index in Redis by the one EVENTS implies, as a
// running service does by itself when it finds the index missing: it
// takes the rebuild lock (running services stop applying events until it
// is done), clears the index, replays the signalen and bevestigingen
// stored since the window began (now − window_days) through the same
// logic as the live service, publishing nothing: no partner hears of a
// samenloop again. It replays up to the last event the service's consumer
// (Config.Durable) was given, and marks the index complete up to the
// last one it acknowledged: the live service applies the others, and
// tells whom a signaal it had not acknowledged concerns (Add returns its
// first Outcome, the same events, stored once). Without that consumer it
// replays up to the last event stored, and a consumer that comes later
// applies them all again.
// progress, when set, is called now and then with the events read and to
// read. It returns the events read. Errors wrap projection.ErrLocked when
// another rebuild is running; a rebuild that fails leaves the index
// marked incomplete, and the running services rebuild it.
func (s *Service) Rebuild(ctx context.Context, progress func(done, total uint64)) (uint64, error) {
	n, err := s.proj.Rebuild(ctx, func(ctx context.Context, w projection.Writer) (projection.Marker, error) {
		return s.replay(ctx, w, 0, progress)
	})
	if err != nil {
		return n, fmt.Errorf("rebuild samenloop index: %w", err)
	}
	return n, nil
}

// replay applies EVENTS to the index with writer w, publishing nothing:
// when from is 0 it clears the index and replays from the start of the
// window, else from sequence from; up to what the consumer was given (see
// Rebuild). It returns the marker of the result.
//
// The lock holds the live writes off: an event the consumer was given
// has either been applied (and published) before Redis lost it, or will
// be applied again. So the index holds every event up to the last one
// given, and the live service skips the acknowledged ones only.
func (s *Service) replay(ctx context.Context, w projection.Writer, from uint64, progress func(done, total uint64)) (projection.Marker, error) {
	ix := s.unguarded.For(w)
	pos, found, err := streams.ConsumerPosition(ctx, s.cfg.JetStream, events.StreamEvents, s.cfg.Durable)
	if err != nil {
		return projection.Marker{}, fmt.Errorf("read the consumer %s: %w", s.cfg.Durable, err)
	}
	opts := streams.ReplayOptions{FromSeq: from, Progress: progress}
	if from == 0 {
		if err := ix.Clear(ctx); err != nil {
			return projection.Marker{}, fmt.Errorf("clear index: %w", err)
		}
		window := time.Duration(s.cfg.Region.Samenloop.WindowDays) * 24 * time.Hour
		opts.Since = s.cfg.Now().Add(-window)
	}
	last := pos.Delivered
	if !found {
		if last, err = streams.LastSeq(ctx, s.cfg.JetStream, events.StreamEvents); err != nil {
			return projection.Marker{}, fmt.Errorf("read %s: %w", events.StreamEvents, err)
		}
	}
	opts.ToSeq = last
	m := projection.Marker{Seq: pos.Acked, Applied: last}
	if last == 0 || from > last {
		if progress != nil {
			progress(0, 0)
		}
		return m, nil // nothing to replay
	}
	m.Events, err = streams.Replay(ctx, s.cfg.JetStream, events.StreamEvents, bus.SamenloopSubjects(), opts, func(msg jetstream.Msg) error {
		ev, err := events.ReadEvent(msg.Data())
		if err != nil {
			return nil // unreadable: the live service skipped it too
		}
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("read %s: %w", events.StreamEvents, err)
		}
		in := Input{Event: ev, Sender: events.SubjectPartner(msg.Subject()), Seq: md.Sequence.Stream, Stored: md.Timestamp}
		if err := s.apply(ctx, ix, in, false); err != nil && !isInvalid(err) {
			return err
		}
		return nil
	})
	return m, err
}
