package escalator_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

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
	f.Clock.Set(at("2026-06-04T23:59:00+02:00"))
	f.waitEscalaties(t, 1)
	f.Clock.Set(at("2026-06-05T00:00:00+02:00"))
	got = f.waitEscalaties(t, 2)
	if g := got[1]; g.Ontvanger != "gemeente" || g.Data.Niveau != 2 || !g.Data.Termijn.Equal(deadline) || g.Data.Reden != events.RedenTermijnVerstreken {
		t.Fatalf("level 2: %+v", g)
	}
	waitTimer(t, e, sourcePolitie, "a-late", false)
}

// TestDueTimesFarOffBreakNothing: an uiterlijk on the last day of 9999
// and overdrachten of someone born in 9999 or in the year 1 (due times in
// the year 10017 and long past, as a partner could send them before the
// gateway bounded time) make timers like any other and hold up nothing:
// the far ones wait, the past one climbs its ladder one level at a time,
// and an ordinary aanmelding after them is watched and escalates.
func TestDueTimesFarOffBreakNothing(t *testing.T) {
	t.Parallel()
	now := at("2026-06-01T10:00:00+02:00")
	f := newFixture(t, now)
	e, _ := f.start(t)
	f.store(t, "politie", events.TypeAanmelding, sourcePolitie, "a-9999", now, map[string]any{
		"bsn": "111222333", "ontvanger": "ggz", "reden": "zorgen",
		"contactpersoon": map[string]any{"naam": "Wijkagent"}, "uiterlijk": "9999-12-31T23:59:59Z",
	}, "ggz")
	for id, born := range map[string]string{"o-9999": "9999-12-31", "o-0001": "0001-01-01"} {
		f.store(t, "jeugdzorg", events.TypeOverdrachtJeugdWmo, sourceJeugdzorg, id, now, map[string]any{
			"bsn": "111222333", "geboortedatum": born, "ontvanger": "wmo-team",
			"voorzieningen": []any{}, "contactpersoon": map[string]any{"naam": "Jeugdconsulent"},
		}, "wmo-team")
	}
	f.aanmelding(t, "a-1", now, 1)
	waitTimer(t, e, sourcePolitie, "a-9999", true)
	waitTimer(t, e, sourceJeugdzorg, "o-9999", true)
	waitTimer(t, e, sourcePolitie, "a-1", true)

	// o-0001: the reminder (to wmo-team and jeugdzorg) and, its acceptance
	// term long past, level 1 at once; level 2 waits three working days.
	got := f.waitEscalaties(t, 3)
	for _, g := range got {
		if g.Data.Betreft.ID != "o-0001" || g.Data.Niveau > 1 {
			t.Fatalf("escalatie %+v, want only o-0001's reminder and level 1", g)
		}
	}
	// a-1's term ends with Tuesday 2 June; o-0001's level 2 is due after
	// Thursday 4 June.
	f.Clock.Set(at("2026-06-03T00:00:00+02:00"))
	got = f.waitEscalaties(t, 4)
	if g := got[3]; g.Data.Betreft.ID != "a-1" || g.Data.Niveau != 1 {
		t.Fatalf("a-1: %+v", g)
	}
	f.Clock.Set(at("2026-06-05T00:00:00+02:00"))
	got = f.waitEscalaties(t, 5)
	if g := got[4]; g.Data.Betreft.ID != "o-0001" || g.Data.Niveau != 2 {
		t.Fatalf("o-0001 level 2: %+v", g)
	}
	if !e.Ready() || strings.Contains(f.Logs.String(), "level=ERROR") {
		t.Errorf("ready %v; logs:\n%s", e.Ready(), f.Logs.String())
	}
}

// storeAgain stores an aanmelding of politie again as the gateway would
// once the EVENTS duplicate window has passed: a message of its own.
func (f *fixture) storeAgain(t *testing.T, id string, logged time.Time, werkdagen int) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": sourcePolitie, "type": events.TypeAanmelding,
		"time": logged.Format(time.RFC3339Nano), "datacontenttype": "application/json", "subject": pseudonym, "ontvanger": "ggz",
		"data": map[string]any{"bsn": "111222333", "ontvanger": "ggz", "reden": "zorgen",
			"contactpersoon": map[string]any{"naam": "Wijkagent"}, "reactietermijn": map[string]any{"werkdagen": werkdagen}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Env.JS.Publish(context.Background(), events.EventSubject(events.TypeAanmelding, "politie"), body); err != nil {
		t.Fatal(err)
	}
}

// TestAanmeldingStoredAgainStartsNoSecondTerm: the same aanmelding,
// stored again after the duplicate window, neither resets a running term
// (no level fires twice), nor restarts one that a bevestiging ended or
// whose ladder ran out.
func TestAanmeldingStoredAgainStartsNoSecondTerm(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted)
	e, _ := f.start(t)
	f.aanmelding(t, "a-run", posted, 5)
	f.aanmelding(t, "a-ack", posted, 5)
	f.aanmelding(t, "a-done", posted, 1)
	waitTimer(t, e, sourcePolitie, "a-done", true)
	f.bevestiging(t, "ggz", sourceGGZ, "b-ack", "a-ack", "opgepakt")
	waitTimer(t, e, sourcePolitie, "a-ack", false)
	// a-done: level 1 at the end of 3 April (Good Friday is a working day
	// here), level 2 three working days later (7, 8, 9 April: Easter
	// Monday is not); a-run: level 1 at the end of 10 April.
	f.Clock.Set(at("2026-04-04T00:00:00+02:00"))
	f.waitCount(t, 1, 10*time.Second)
	f.Clock.Set(at("2026-04-11T00:00:00+02:00"))
	f.waitCount(t, 3, 10*time.Second)
	waitTimer(t, e, sourcePolitie, "a-done", false)

	before, _, err := e.Store().Get(context.Background(), events.MsgID(sourcePolitie, "a-run"))
	if err != nil {
		t.Fatal(err)
	}
	f.Clock.Set(at("2026-04-13T10:00:00+02:00"))
	for _, id := range []string{"a-run", "a-ack", "a-done"} {
		f.storeAgain(t, id, posted, 5)
	}
	f.aanmelding(t, "a-next", posted, 5) // handled after the three
	waitTimer(t, e, sourcePolitie, "a-next", true)
	f.waitCount(t, 4, 10*time.Second) // a-next's level 1 only: nothing fires twice
	for _, id := range []string{"a-ack", "a-done"} {
		if _, ok, _ := e.Store().Get(context.Background(), events.MsgID(sourcePolitie, id)); ok {
			t.Errorf("%s has a term again", id)
		}
	}
	run, ok, err := e.Store().Get(context.Background(), events.MsgID(sourcePolitie, "a-run"))
	if err != nil || !ok || !reflect.DeepEqual(run, before) {
		t.Fatalf("a-run: %+v %v %v, want its term as before: %+v", run, ok, err, before)
	}
}

// TestEventMakingNoValidTimerIsSkipped: an aanmelding the timer store
// refuses (an ontvanger holding a NUL byte, which no gateway lets through)
// is logged and acked; the events after it are not held up, and the
// escalator stays ready.
func TestEventMakingNoValidTimerIsSkipped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted)
	e, _ := f.start(t)
	f.store(t, "politie", events.TypeAanmelding, sourcePolitie, "bad", posted, map[string]any{
		"bsn": "111222333", "ontvanger": "g\x00z", "reden": "zorgen",
		"contactpersoon": map[string]any{"naam": "Wijkagent"}, "reactietermijn": map[string]any{"werkdagen": 5},
	}, "")
	f.aanmelding(t, "a-1", posted, 5)
	waitTimer(t, e, sourcePolitie, "a-1", true)
	if !e.Ready() {
		t.Error("not ready after an invalid event, though Redis answers")
	}
	if !strings.Contains(f.Logs.String(), "event makes no valid timer") {
		t.Errorf("no log line for the skipped event:\n%s", f.Logs.String())
	}
}
