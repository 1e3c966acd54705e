package escalator_test

import (
	"testing"

	"github.com/ketenbus/ketenbus/events"
)

// TestTermPassedLongAgoClimbsOneLevelAtATime: an aanmelding whose term
// passed weeks before it reached the escalator escalates to the first
// level at once, and to the next level only after_working_days (3) after
// that, not in the same burst.
func TestTermPassedLongAgoClimbsOneLevelAtATime(t *testing.T) {
	t.Parallel()
	now := at("2026-06-01T10:00:00+02:00") // a Monday
	f := newFixture(t, now)
	e, _ := f.start(t)
	f.aanmelding(t, "a-late", at("2026-04-02T10:00:00+02:00"), 5) // term ended 11 April
	deadline := at("2026-04-11T00:00:00+02:00")

	got := f.waitEscalaties(t, 1)
	if g := got[0]; g.Ontvanger != "zvh" || g.Data.Niveau != 1 || !g.Data.Termijn.Equal(deadline) {
		t.Fatalf("level 1: %+v", g)
	}
	// Level 2 three working days after level 1 fired: Tue 2, Wed 3, Thu 4 June.
	f.clock.Set(at("2026-06-04T23:59:00+02:00"))
	f.waitEscalaties(t, 1)
	f.clock.Set(at("2026-06-05T00:00:00+02:00"))
	got = f.waitEscalaties(t, 2)
	if g := got[1]; g.Ontvanger != "gemeente" || g.Data.Niveau != 2 || !g.Data.Termijn.Equal(deadline) || g.Data.Reden != events.RedenTermijnVerstreken {
		t.Fatalf("level 2: %+v", g)
	}
	waitTimer(t, e, sourcePolitie, "a-late", false)
}
