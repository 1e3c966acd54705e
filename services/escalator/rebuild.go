package escalator

import (
	"context"
	"errors"
	"fmt"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
)

// RebuildOptions say where a rebuild starts and how it reports progress.
type RebuildOptions struct {
	// FromSeq starts at this EVENTS sequence; zero and no Since means the
	// start of the stream.
	FromSeq uint64
	// Since starts at the first event stored at or after this time.
	Since time.Time
	// Progress, when set, is called now and then with the events read and
	// the events to read in all.
	Progress func(done, total uint64)
}

// Rebuild replaces the timers in Redis by the ones EVENTS implies: it
// clears them, then replays every aanmelding, overdracht, bevestiging and
// escalatie from the chosen start through the same logic as the live
// escalator, without publishing anything. The result equals the live
// escalator's pending timers for the same events.
func (e *Escalator) Rebuild(ctx context.Context, opts RebuildOptions) (uint64, error) {
	if err := e.store.Clear(ctx); err != nil {
		return 0, fmt.Errorf("clear timers: %w", err)
	}
	st, err := e.cfg.JetStream.Stream(ctx, events.StreamEvents)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", events.StreamEvents, err)
	}
	subjects := append(watched(), events.EventSubject(events.TypeEscalatie, ProducerID))
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, DeliverPolicy: jetstream.DeliverAllPolicy}
	switch {
	case opts.FromSeq > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, opts.FromSeq
	case !opts.Since.IsZero():
		since := opts.Since
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := st.OrderedConsumer(ctx, cc)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", events.StreamEvents, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", events.StreamEvents, err)
	}
	total := info.NumPending
	var done uint64
	report := func() {
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
	}
	report()
	for done < total {
		batch, err := cons.Fetch(int(min(total-done, 500)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return done, fmt.Errorf("read %s: %w", events.StreamEvents, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var ev cloudevents.Event
			if err := ev.UnmarshalJSON(m.Data()); err == nil {
				if ev.Type() == events.TypeEscalatie {
					err = e.applyFired(ctx, ev)
				} else {
					err = e.Apply(ctx, ev, partnerOf(m.Subject()))
				}
				if err != nil {
					return done, err
				}
			}
			done++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoHeartbeat) {
			return done, fmt.Errorf("read %s: %w", events.StreamEvents, err)
		}
		if n == 0 {
			break // nothing more arrived within the wait
		}
		report()
	}
	report()
	return done, nil
}
