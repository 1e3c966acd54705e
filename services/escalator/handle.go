package escalator

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/timers"
	"github.com/ketenbus/ketenbus/services/shared/werkdagen"
)

// apply applies one event from partner sender to the timers of st: the
// same logic for live events and for a rebuild from EVENTS.
func (e *Escalator) apply(ctx context.Context, st *timers.Store, ev cloudevents.Event, sender string) error {
	switch ev.Type() {
	case events.TypeAanmelding:
		var d events.Aanmelding
		if err := ev.DataAs(&d); err != nil {
			return nil // the gateway validated it; nothing to watch
		}
		return e.startAanmelding(ctx, st, ev, sender, d)
	case events.TypeOverdrachtJeugdWmo:
		var d events.OverdrachtJeugdWmo
		if err := ev.DataAs(&d); err != nil {
			return nil
		}
		return e.startOverdracht(ctx, st, ev, sender, d)
	case events.TypeBevestiging:
		var d events.Bevestiging
		if err := ev.DataAs(&d); err != nil {
			return nil
		}
		return e.bevestiging(ctx, st, ev, sender, d)
	}
	return nil
}

// applyFired replays an escalatie ketenbus published: its level fired (at
// the escalatie's time), so the timer moves on as FireDue moved it. Only a
// rebuild needs this; the live escalator does the same right after
// publishing.
func (e *Escalator) applyFired(ctx context.Context, st *timers.Store, ev cloudevents.Event) error {
	var d events.Escalatie
	if err := ev.DataAs(&d); err != nil {
		return nil
	}
	id := timerID(d.Betreft.Source, d.Betreft.ID)
	t, ok, err := st.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("read timer: %w", err)
	}
	if !ok || t.Level != d.Niveau {
		return nil // already moved on (another partner of the same level)
	}
	return e.moveOn(ctx, st, t, ev.Time())
}

func timerID(source, id string) string { return events.MsgID(source, id) }

// newTimer returns the timer of kind that ev, from sender to ontvanger,
// starts, before its level, reden and due time are set.
func newTimer(ev cloudevents.Event, kind, sender, ontvanger string) timers.Timer {
	return timers.Timer{
		ID:        timerID(ev.Source(), ev.ID()),
		Kind:      kind,
		Betreft:   timers.Ref{Source: ev.Source(), ID: ev.ID(), Type: ev.Type()},
		Subject:   ev.Subject(),
		Ontvanger: ontvanger,
		Sender:    sender,
	}
}

func (e *Escalator) startAanmelding(ctx context.Context, st *timers.Store, ev cloudevents.Event, sender string, d events.Aanmelding) error {
	logged := e.loggedAt(ev)
	var deadline time.Time
	switch {
	case d.Uiterlijk != nil:
		deadline = *d.Uiterlijk
	case d.Reactietermijn != nil:
		deadline = e.ladder.cal.Deadline(logged, d.Reactietermijn.Werkdagen)
	default:
		return nil
	}
	t := e.ladder.firstLevel(newTimer(ev, kindAanmelding, sender, d.Ontvanger), deadline, events.RedenTermijnVerstreken)
	return e.schedule(ctx, st, t, logged)
}

func (e *Escalator) startOverdracht(ctx context.Context, st *timers.Store, ev cloudevents.Event, sender string, d events.OverdrachtJeugdWmo) error {
	birthday, err := werkdagen.Birthday18(d.Geboortedatum)
	if err != nil {
		return nil
	}
	logged := e.loggedAt(ev)
	accept := werkdagen.MonthsBefore(birthday, e.ladder.accept)
	remind := werkdagen.MonthsBefore(birthday, e.ladder.remind)
	t := newTimer(ev, kindOverdracht, sender, d.Ontvanger)
	t.Level, t.Reden, t.Termijn = 0, string(events.RedenHerinnering18), accept
	t.Due, t.Anchor = maxTime(remind, logged), birthday
	return e.schedule(ctx, st, t, logged)
}

// schedule stores a new timer, unless its bevestiging came first, or the
// same event was seen before: a timer for it runs, or its term ended (a
// bevestiging, or the last level fired). JetStream deduplicates a
// (source, id) only within the EVENTS duplicate window, so the same
// aanmelding posted again later is stored again; it must not restart or
// reset its term.
func (e *Escalator) schedule(ctx context.Context, st *timers.Store, t timers.Timer, logged time.Time) error {
	if _, running, err := st.Get(ctx, t.ID); err != nil {
		return fmt.Errorf("read timer: %w", err)
	} else if running {
		return nil // the same event again: its term goes on as it was
	}
	early, ok, err := st.Remembered(ctx, t.ID)
	if err != nil {
		return fmt.Errorf("read early bevestiging: %w", err)
	}
	if ok && early == termEnded {
		return nil // its ladder ran out before: the same event again
	}
	if ok {
		from, status, _ := strings.Cut(early, ":")
		if from == t.Ontvanger {
			switch events.Status(status) {
			case events.StatusOpgepakt, events.StatusAfgerond:
				return nil // acknowledged before it arrived: no term
			case events.StatusGeweigerd:
				t = declined(t, logged)
			}
		}
	}
	if err := st.Schedule(ctx, t); err != nil {
		return fmt.Errorf("schedule timer: %w", err)
	}
	e.metrics.scheduled.WithLabelValues(t.Kind).Inc()
	return nil
}

// termEnded is what the store remembers for a timer whose ladder ran out.
const termEnded = events.Producer + ":ladder-done"

// rememberFor is how long a bevestiging or an ended term of an event of
// type typ is remembered: as long as the event may still be posted (the
// gateway refuses a time older than the type's retention; the longest
// retention for a type it does not know), and at least RememberFor.
func (e *Escalator) rememberFor(typ string) time.Duration {
	return max(e.cfg.RememberFor, e.cfg.Region.RetentionOf(typ))
}

// declined escalates at once: the next firing is ladder level 1 (or the
// current level), due when the ontvanger said geweigerd.
func declined(t timers.Timer, at time.Time) timers.Timer {
	if t.Level < 1 {
		t.Level = 1
	}
	t.Reden = string(events.RedenGeweigerd)
	t.Termijn = at
	t.Due = at
	return t
}

// loggedAt returns the event's time, or now when it has none.
func (e *Escalator) loggedAt(ev cloudevents.Event) time.Time {
	if t := ev.Time(); !t.IsZero() {
		return t
	}
	return e.cfg.Now()
}

func (e *Escalator) bevestiging(ctx context.Context, st *timers.Store, ev cloudevents.Event, sender string, d events.Bevestiging) error {
	id := timerID(d.Betreft.Source, d.Betreft.ID)
	t, ok, err := st.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("read timer: %w", err)
	}
	if !ok {
		// Before its event (replay, reordering), or for a term that ended:
		// remember it, so a late aanmelding starts no timer.
		if err := st.Remember(ctx, id, sender+":"+string(d.Status), e.rememberFor(d.Betreft.Type)); err != nil {
			return fmt.Errorf("remember bevestiging: %w", err)
		}
		return nil
	}
	if sender != t.Ontvanger {
		e.metrics.foreign.Inc()
		e.cfg.Logger.Info("bevestiging from a partner that is not the ontvanger; the term goes on",
			slog.String("from", sender), slog.String("ontvanger", t.Ontvanger), slog.String("kind", t.Kind))
		return nil
	}
	switch d.Status {
	case events.StatusOpgepakt, events.StatusAfgerond:
		// Remembered first: the same event stored again later then
		// starts no term, also if this process stops in between.
		if err := st.Remember(ctx, id, sender+":"+string(d.Status), e.rememberFor(t.Betreft.Type)); err != nil {
			return fmt.Errorf("remember bevestiging: %w", err)
		}
		if _, err := st.Cancel(ctx, id); err != nil {
			return fmt.Errorf("cancel timer: %w", err)
		}
		e.metrics.acknowledged.WithLabelValues(t.Kind).Inc()
	case events.StatusGeweigerd:
		if err := st.Schedule(ctx, declined(t, e.loggedAt(ev))); err != nil {
			return fmt.Errorf("escalate geweigerd: %w", err)
		}
	}
	return nil
}
