package escalator_test

import (
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
)

// TestTermOverEaster: an aanmelding with a 5-working-day term posted on the
// Thursday before Easter 2026 escalates exactly when the calendar says (Good
// Friday counts in this region, Tweede Paasdag does not), to the right
// partners, once per level.
func TestTermOverEaster(t *testing.T) {
	t.Parallel()
	f, e := startAanmelding(t)

	f.Clock.Set(at("2026-04-10T23:59:59+02:00")) // the last working day
	f.waitEscalaties(t, 0)

	deadline := at("2026-04-11T00:00:00+02:00")
	f.Clock.Set(deadline)
	got := f.waitEscalaties(t, 1)
	if g := got[0]; g.Ontvanger != "zvh" || g.Data.Niveau != 1 || g.Data.Reden != events.RedenTermijnVerstreken ||
		!g.Data.Termijn.Equal(deadline) || g.Data.Betreft.ID != "a-1" || g.Data.Betreft.Source != sourcePolitie || g.Data.Betreft.Type != events.TypeAanmelding {
		t.Fatalf("level 1: %+v", g)
	}

	// Level 2: three working days later (Mon 13, Tue 14, Wed 15 April).
	f.Clock.Set(at("2026-04-15T23:59:00+02:00"))
	f.waitEscalaties(t, 1)
	f.Clock.Set(at("2026-04-16T00:00:00+02:00"))
	got = f.waitEscalaties(t, 2)
	if g := got[1]; g.Ontvanger != "gemeente" || g.Data.Niveau != 2 || !g.Data.Termijn.Equal(deadline) {
		t.Fatalf("level 2: %+v", g)
	}
	// The ladder is done.
	f.Clock.Set(at("2027-04-16T00:00:00+02:00"))
	f.waitEscalaties(t, 2)
	waitTimer(t, e, sourcePolitie, "a-1", false)
}

func TestBevestigingInTimeStopsTheTerm(t *testing.T) {
	t.Parallel()
	f, e := startAanmelding(t)
	f.Clock.Set(at("2026-04-07T09:00:00+02:00"))
	f.bevestiging(t, "ggz", sourceGGZ, "b-1", "a-1", "opgepakt")
	waitTimer(t, e, sourcePolitie, "a-1", false)
	f.Clock.Set(at("2027-01-01T00:00:00+01:00"))
	f.waitEscalaties(t, 0)
}

func TestBevestigingFromAnotherPartnerChangesNothing(t *testing.T) {
	t.Parallel()
	f, e := startAanmelding(t)
	f.bevestiging(t, "zvh", sourceZVH, "b-1", "a-1", "afgerond")
	time.Sleep(200 * time.Millisecond)
	waitTimer(t, e, sourcePolitie, "a-1", true)
	f.Clock.Set(at("2026-04-11T00:00:00+02:00"))
	f.waitEscalaties(t, 1)
}

func TestEarlyBevestigingStartsNoTimer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted)
	e, _ := f.start(t)
	f.bevestiging(t, "ggz", sourceGGZ, "b-1", "a-1", "opgepakt")
	time.Sleep(100 * time.Millisecond)
	f.aanmelding(t, "a-1", posted, 5)
	f.aanmelding(t, "a-2", posted, 5) // a control that does start
	waitTimer(t, e, sourcePolitie, "a-2", true)
	waitTimer(t, e, sourcePolitie, "a-1", false)
	f.Clock.Set(at("2026-04-11T00:00:00+02:00"))
	got := f.waitEscalaties(t, 1)
	if got[0].Data.Betreft.ID != "a-2" {
		t.Fatalf("escalated %s", got[0].Data.Betreft.ID)
	}
}

func TestGeweigerdEscalatesAtOnce(t *testing.T) {
	t.Parallel()
	f, _ := startAanmelding(t)
	f.Clock.Set(at("2026-04-03T09:00:00+02:00"))
	f.bevestiging(t, "ggz", sourceGGZ, "b-1", "a-1", "geweigerd")
	got := f.waitEscalaties(t, 1)
	if g := got[0]; g.Ontvanger != "zvh" || g.Data.Niveau != 1 || g.Data.Reden != events.RedenGeweigerd {
		t.Fatalf("%+v", g)
	}
}

// TestOverdrachtAt18: a youth born 15 September 2008 turns 18 on 15 September
// 2026. The overdracht arrives in April, after the reminder date (6 months
// before): the reminder goes out at once to the Wmo team and youth care;
// the acceptance term (3 months before) escalates to level 1; the birthday
// without bevestiging to level 2.
func TestOverdrachtAt18(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted)
	e, _ := f.start(t)
	f.store(t, "jeugdzorg", events.TypeOverdrachtJeugdWmo, sourceJeugdzorg, "o-1", posted, map[string]any{
		"bsn": "111222333", "geboortedatum": "2008-09-15", "ontvanger": "wmo-team",
		"voorzieningen": []any{map[string]any{"soort": "ambulante begeleiding"}}, "contactpersoon": map[string]any{"naam": "Jeugdconsulent"},
	}, "wmo-team")
	got := f.waitEscalaties(t, 2)
	reminded := map[string]bool{}
	for _, g := range got {
		if g.Data.Niveau != 0 || g.Data.Reden != events.RedenHerinnering18 || !g.Data.Termijn.Equal(at("2026-06-15T00:00:00+02:00")) {
			t.Fatalf("reminder %+v", g)
		}
		reminded[g.Ontvanger] = true
	}
	if !reminded["wmo-team"] || !reminded["jeugdzorg"] {
		t.Fatalf("reminded %v", reminded)
	}
	f.Clock.Set(at("2026-06-14T23:00:00+02:00"))
	f.waitEscalaties(t, 2)
	f.Clock.Set(at("2026-06-15T00:00:00+02:00"))
	got = f.waitEscalaties(t, 3)
	if g := got[2]; g.Ontvanger != "zvh" || g.Data.Niveau != 1 || g.Data.Reden != events.RedenTermijnVerstreken {
		t.Fatalf("acceptance term: %+v", g)
	}
	f.Clock.Set(at("2026-09-15T00:00:00+02:00"))
	got = f.waitEscalaties(t, 4)
	if g := got[3]; g.Ontvanger != "gemeente" || g.Data.Niveau != 2 || g.Data.Reden != events.RedenAchttienZonderBevestiging ||
		!g.Data.Termijn.Equal(at("2026-09-15T00:00:00+02:00")) {
		t.Fatalf("birthday: %+v", g)
	}
	// A bevestiging of the Wmo team now stops what is left.
	f.store(t, "wmo-team", events.TypeBevestiging, sourceWmo, "b-1", f.Clock.Now(), map[string]any{
		"betreft": map[string]any{"source": sourceJeugdzorg, "id": "o-1"}, "status": "opgepakt",
	}, "")
	waitTimer(t, e, sourceJeugdzorg, "o-1", false)
}
