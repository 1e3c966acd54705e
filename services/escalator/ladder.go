package escalator

import (
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/timers"
	"github.com/ketenbus/ketenbus/services/shared/werkdagen"
)

// Kinds of timer.
const (
	kindAanmelding = "aanmelding"
	kindOverdracht = "overdracht"
)

// ladder applies the region's escalation ladder and calendar.
type ladder struct {
	levels []region.Level
	cal    *werkdagen.Calendar
	remind int // months before 18
	accept int
}

// recipients returns the partners an escalatie of level goes to: level 0
// (a reminder) to the timer's ontvanger and sender; level k to the
// ladder's level k, or its last level beyond it.
func (l *ladder) recipients(t timers.Timer) []string {
	if t.Level == 0 {
		if t.Sender != "" && t.Sender != t.Ontvanger {
			return []string{t.Ontvanger, t.Sender}
		}
		return []string{t.Ontvanger}
	}
	if len(l.levels) == 0 {
		return nil
	}
	i := min(t.Level, len(l.levels)) - 1
	return l.levels[i].To
}

// addWorkingDays returns t when n is 0, else the end of the n-th working
// day after t's day.
func (l *ladder) addWorkingDays(t time.Time, n int) time.Time {
	if n <= 0 {
		return t
	}
	return l.cal.Deadline(t, n)
}

// afterDays returns after_working_days of ladder level k (1-based).
func (l *ladder) afterDays(k int) int {
	if k < 1 || k > len(l.levels) {
		return 0
	}
	return l.levels[k-1].AfterWorkingDays
}

// firstLevel returns the timer for level 1 of a term that ended at
// deadline: due after_working_days(1) later.
func (l *ladder) firstLevel(t timers.Timer, deadline time.Time, reden events.Reden) timers.Timer {
	t.Level = 1
	t.Reden = string(reden)
	t.Termijn = deadline
	t.Due = l.addWorkingDays(deadline, l.afterDays(1))
	return t
}

// next returns the timer's state after its current level fired at
// firedAt, or false when the ladder is done.
//
// Each level waits its after_working_days after the level before it
// actually fired, not only after that level was due: a term that passed
// long ago (an aanmelding whose time is weeks back, an escalator that was
// stopped) climbs one level now and the next after_working_days later,
// as the region's ladder means, instead of firing every level at once.
// The overdracht's dated levels (the acceptance term, the 18th birthday)
// keep their dates and are never earlier than that either.
func (l *ladder) next(t timers.Timer, firedAt time.Time) (timers.Timer, bool) {
	from := maxTime(t.Due, firedAt)
	switch {
	case t.Kind == kindOverdracht && t.Level == 0:
		// After the reminder: the acceptance term.
		n := t
		n.Level = 1
		n.Reden = string(events.RedenTermijnVerstreken)
		n.Due = maxTime(t.Termijn, l.addWorkingDays(from, l.afterDays(1)))
		return n, true
	case t.Kind == kindOverdracht && t.Level == 1 && !t.Anchor.IsZero() && t.Anchor.After(t.Due):
		// Without a bevestiging by the 18th birthday: the next level.
		n := t
		n.Level = 2
		n.Reden = string(events.RedenAchttienZonderBevestiging)
		n.Termijn = t.Anchor
		n.Due = maxTime(t.Anchor, l.addWorkingDays(from, l.afterDays(2)))
		return n, true
	}
	if t.Level >= len(l.levels) {
		return t, false
	}
	n := t
	n.Level = t.Level + 1
	n.Due = l.addWorkingDays(from, l.afterDays(n.Level))
	return n, true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
