package escalator_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

func allTimers(t *testing.T, s *timers.Store) []timers.Timer {
	t.Helper()
	var out []timers.Timer
	var cursor int64
	for {
		page, next, err := s.List(context.Background(), cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == 0 || len(page) == 0 {
			break
		}
		cursor = next
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// TestRebuildEqualsLive: the live escalator handles a mix of terms — some
// acknowledged, one declined, one acknowledged by the wrong partner, one
// acknowledged before it arrived, an overdracht — and fires some levels;
// a rebuild from EVENTS into the emptied Redis gives the same timers.
func TestRebuildEqualsLive(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted)
	live, stop := f.start(t)
	f.bevestiging(t, "ggz", sourceGGZ, "b-early", "a-early", "opgepakt")
	for i := range 6 {
		f.aanmelding(t, fmt.Sprintf("a-%d", i), posted, 3+i)
	}
	f.aanmelding(t, "a-early", posted, 5)
	f.store(t, "jeugdzorg", events.TypeOverdrachtJeugdWmo, sourceJeugdzorg, "o-1", posted, map[string]any{
		"bsn": "111222333", "geboortedatum": "2008-09-15", "ontvanger": "wmo-team",
		"voorzieningen": []any{}, "contactpersoon": map[string]any{"naam": "Jeugdconsulent"},
	}, "wmo-team")
	waitTimer(t, live, sourceJeugdzorg, "o-1", true)
	f.Clock.Set(at("2026-04-03T09:00:00+02:00"))
	f.bevestiging(t, "ggz", sourceGGZ, "b-0", "a-0", "opgepakt")
	f.bevestiging(t, "ggz", sourceGGZ, "b-1", "a-1", "geweigerd")
	f.bevestiging(t, "zvh", sourceZVH, "b-2", "a-2", "afgerond") // not the ontvanger
	waitTimer(t, live, sourcePolitie, "a-0", false)
	// a-1's level 1 fires when declined, before the clock moves on.
	f.waitCount(t, 2+1, 10*time.Second)
	// By 11 April: the overdracht's reminder (at once, to two partners),
	// a-1's levels 1 and 2 (declined on 3 April; level 2 three working
	// days later) and a-2's level 1 (5 working days).
	f.Clock.Set(at("2026-04-11T00:00:00+02:00"))
	f.waitCount(t, 2+2+1, 10*time.Second)
	before := allTimers(t, live.Store())
	if len(before) < 4 {
		t.Fatalf("only %d timers pending: the scenario is too thin", len(before))
	}
	stop()

	rebuilt, err := escalator.New(escalator.Config{ServiceConfig: projector.ServiceConfig{Region: f.Region, JetStream: f.Env.JS, Redis: f.RDB, Now: f.Clock.Now}})
	if err != nil {
		t.Fatal(err)
	}
	var reported uint64
	n, err := rebuilt.Rebuild(context.Background(), escalator.RebuildOptions{Progress: func(done, total uint64) { reported = done }})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || reported != n {
		t.Fatalf("rebuild read %d events, progress said %d", n, reported)
	}
	after := allTimers(t, rebuilt.Store())
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("rebuilt timers differ:\nlive    %+v\nrebuilt %+v", before, after)
	}
	// The early bevestiging is remembered again too.
	if _, ok, err := rebuilt.Store().Remembered(context.Background(), events.MsgID(sourcePolitie, "a-early")); err != nil || !ok {
		t.Fatalf("early bevestiging not remembered after rebuild (%v)", err)
	}
}
