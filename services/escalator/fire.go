package escalator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/outbox"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// ProducerID is the partner segment of the EVENTS subjects of events
// ketenbus itself produces.
const ProducerID = events.Producer

// poll fires due timers every PollInterval until ctx ends.
func (e *Escalator) poll(ctx context.Context) {
	tick := time.NewTicker(e.cfg.PollInterval)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := e.FireDue(ctx); err != nil {
			if errors.Is(err, projection.ErrIncomplete) {
				e.proj.Lost() // the keeper rebuilds them
				continue
			}
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures == 1 || failures%40 == 0 {
				e.cfg.Logger.Warn("firing due timers failed; retrying", slog.String("error", err.Error()), slog.Int("failures", failures))
			}
			continue
		}
		failures = 0
	}
}

// FireDue claims every timer due now and fires it: it publishes the
// escalaties of its level and, once JetStream stored them and the
// processing log holds a record of each, advances the timer to the next
// level or finishes it. It returns how many timers fired. A timer whose
// escalaties or records could not be stored is released to fire again
// after retryFire, with the same escalatie and record ids (should the
// release not reach Redis, after its lease).
// While the timers in Redis are incomplete it fires nothing and returns
// an error wrapping projection.ErrIncomplete: a timer missing from Redis
// must not be taken for one that is not due.
func (e *Escalator) FireDue(ctx context.Context) (int, error) {
	if !e.proj.Complete() {
		return 0, fmt.Errorf("claim due timers: %w", projection.ErrIncomplete)
	}
	fired := 0
	for {
		now := e.cfg.Now()
		ts, err := e.live.Claim(ctx, now, e.cfg.ClaimBatch)
		e.proj.Observe(err)
		if errors.Is(err, projection.ErrIncomplete) {
			e.proj.Lost()
		}
		if err != nil {
			return fired, fmt.Errorf("claim due timers: %w", err)
		}
		if len(ts) == 0 {
			return fired, nil
		}
		stored := e.publish(ctx, ts, now)
		for i, t := range ts {
			if !stored[i] {
				// Not the lease, which is for a claimer that died: JetStream
				// may be back in a moment (a new leader elected).
				retry := t
				retry.Due = now.Add(retryFire)
				if _, err := e.live.Advance(ctx, retry, t); err != nil {
					e.proj.Observe(err)
					return fired, fmt.Errorf("release timer: %w", err)
				}
				continue
			}
			e.metrics.lag.Observe(max(0, now.Sub(t.Due).Seconds()))
			e.metrics.fired.WithLabelValues(strconv.Itoa(t.Level)).Inc()
			if err = e.moveOn(ctx, e.live, t, now); err != nil {
				// The escalaties are stored; firing again after the lease
				// publishes the same ids, which JetStream drops.
				return fired, fmt.Errorf("advance timer: %w", err)
			}
			fired++
		}
		if len(ts) < e.cfg.ClaimBatch {
			return fired, nil
		}
	}
}

// publish stores the escalaties of every claimed timer, then a record of
// each stored one in the processing log, and reports, per timer, whether
// all of its escalaties were stored and logged.
func (e *Escalator) publish(ctx context.Context, ts []timers.Timer, now time.Time) []bool {
	var (
		msgs  []outbox.Msg
		owner []int // the timer of each message
	)
	stored := make([]bool, len(ts))
	for i, t := range ts {
		stored[i] = true
		for _, partner := range e.ladder.recipients(t) {
			msg, err := e.outbox.Build(escalatie(t, partner, now))
			if err != nil {
				stored[i] = false
				e.cfg.Logger.Error("escalatie not built", slog.String("kind", t.Kind), slog.Int("niveau", t.Level), slog.String("error", err.Error()))
				continue
			}
			msgs = append(msgs, msg)
			owner = append(owner, i)
		}
	}
	// One record each: a timer that fires again (its escalaties or their
	// records not all stored) writes the same records, stored once.
	sent := e.outbox.Publish(ctx, now, msgs)
	for j, done := range sent.Done {
		if !done {
			stored[owner[j]] = false
		}
	}
	if ctx.Err() != nil {
		return stored
	}
	if sent.StoreErr != nil {
		e.cfg.Logger.Warn("escalaties not stored; their timers fire again shortly",
			slog.Int("escalaties", len(msgs)-sent.Stored), slog.Duration("retry_in", retryFire), slog.String("error", sent.StoreErr.Error()))
	}
	if sent.LogErr != nil {
		e.cfg.Logger.Warn("processing log not written; the timers fire again shortly", slog.Int("escalaties", sent.Stored), slog.String("error", sent.LogErr.Error()))
	}
	return stored
}

// retryFire is how soon a timer whose escalaties could not be stored
// fires again.
const retryFire = time.Second

// escalatie returns the escalatie of t's level for partner, fired at now.
func escalatie(t timers.Timer, partner string, now time.Time) outbox.Event {
	return outbox.Event{
		ID:        bus.EscalatieID(t.ID, t.Level, partner),
		Type:      events.TypeEscalatie,
		Time:      now,
		Subject:   t.Subject,
		Ontvanger: partner,
		Data: events.Escalatie{
			Betreft:   events.EventRef{Source: t.Betreft.Source, ID: t.Betreft.ID, Type: t.Betreft.Type},
			Ontvanger: partner,
			Niveau:    t.Level,
			Reden:     events.Reden(t.Reden),
			Termijn:   t.Termijn.UTC(),
		},
	}
}

// moveOn moves claimed timer t past the level that fired at firedAt, in
// st: on to the next level of the ladder, or finished after the last.
func (e *Escalator) moveOn(ctx context.Context, st *timers.Store, t timers.Timer, firedAt time.Time) error {
	if next, more := e.ladder.next(t, firedAt); more {
		_, err := st.Advance(ctx, next, t)
		return err
	}
	// Remembered first, so the same event stored again starts no term.
	if err := st.Remember(ctx, t.ID, termEnded, e.rememberFor(t.Betreft.Type)); err != nil {
		return err
	}
	_, err := st.Finish(ctx, t)
	return err
}
