package escalator

import (
	"context"
	"errors"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/escalator/timers"
	"github.com/ketenbus/ketenbus/services/streams"
)

// RebuildOptions say where a rebuild starts and how it reports progress.
type RebuildOptions = streams.ReplayOptions

// Rebuild replaces the timers in Redis by the ones EVENTS implies: it
// clears them, then replays every aanmelding, overdracht, bevestiging and
// escalatie from the chosen start through the same logic as the live
// escalator, without publishing anything. The result equals the live
// escalator's pending timers for the same events.
func (e *Escalator) Rebuild(ctx context.Context, opts RebuildOptions) (uint64, error) {
	if err := e.store.Clear(ctx); err != nil {
		return 0, fmt.Errorf("clear timers: %w", err)
	}
	subjects := append(watched(), events.EventSubject(events.TypeEscalatie, ProducerID))
	return streams.Replay(ctx, e.cfg.JetStream, events.StreamEvents, subjects, opts, func(m jetstream.Msg) error {
		var ev cloudevents.Event
		if err := ev.UnmarshalJSON(m.Data()); err != nil {
			return nil // unreadable: the live escalator skipped it too
		}
		if ev.Type() == events.TypeEscalatie {
			return e.applyFired(ctx, ev)
		}
		err := e.Apply(ctx, ev, events.SubjectPartner(m.Subject()))
		if errors.Is(err, timers.ErrInvalid) {
			return nil // the live escalator skipped it too
		}
		return err
	})
}
