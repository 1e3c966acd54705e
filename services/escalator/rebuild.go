package escalator

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// RebuildOptions say where a rebuild starts and how it reports progress.
type RebuildOptions = streams.ReplayOptions

// Rebuild replaces the timers in Redis by the ones EVENTS implies, as a
// running escalator does by itself when it finds them missing: it takes
// the rebuild lock (running escalators stop firing and applying events
// until it is done), clears the timers, replays every aanmelding,
// overdracht, bevestiging and escalatie from the chosen start up to the
// last event stored when it began, through the same logic as the live
// escalator, without publishing anything, and marks the timers complete
// up to that event. The result equals the live escalator's pending timers
// for the same events. It returns the events read. Errors wrap
// projection.ErrLocked when another rebuild is running; a rebuild that
// fails leaves the timers marked incomplete, and the running escalators
// rebuild them.
func (e *Escalator) Rebuild(ctx context.Context, opts RebuildOptions) (uint64, error) {
	n, err := e.proj.Rebuild(ctx, func(ctx context.Context, w projection.Writer) (projection.Marker, error) {
		return e.replay(ctx, w, opts, true)
	})
	if err != nil {
		return n, fmt.Errorf("rebuild timers: %w", err)
	}
	return n, nil
}

// replay applies EVENTS to the timers with writer w, from opts's start
// (clearing the timers first when clear is set) up to the last event
// stored when it began, or opts.ToSeq when that is earlier. It returns
// the marker of the result: up to which sequence, from how many events.
func (e *Escalator) replay(ctx context.Context, w projection.Writer, opts RebuildOptions, clear bool) (projection.Marker, error) {
	st := e.unguarded.For(w)
	if clear {
		if err := st.Clear(ctx); err != nil {
			return projection.Marker{}, fmt.Errorf("clear timers: %w", err)
		}
	}
	last, err := streams.LastSeq(ctx, e.cfg.JetStream, events.StreamEvents)
	if err != nil {
		return projection.Marker{}, fmt.Errorf("read %s: %w", events.StreamEvents, err)
	}
	if opts.ToSeq == 0 || opts.ToSeq > last {
		opts.ToSeq = last
	}
	m := projection.Marker{Seq: opts.ToSeq}
	if opts.ToSeq == 0 || opts.FromSeq > opts.ToSeq {
		if opts.Progress != nil {
			opts.Progress(0, 0)
		}
		return m, nil // nothing to replay
	}
	subjects := append(bus.EscalatorSubjects(), events.EventSubject(events.TypeEscalatie, ProducerID))
	m.Events, err = streams.Replay(ctx, e.cfg.JetStream, events.StreamEvents, subjects, opts, func(msg jetstream.Msg) error {
		ev, err := events.ReadEvent(msg.Data())
		if err != nil {
			return nil // unreadable: the live escalator skipped it too
		}
		if ev.Type() == events.TypeEscalatie {
			return e.applyFired(ctx, st, ev)
		}
		err = e.apply(ctx, st, ev, events.SubjectPartner(msg.Subject()))
		if errors.Is(err, timers.ErrInvalid) {
			return nil // the live escalator skipped it too
		}
		return err
	})
	return m, err
}
