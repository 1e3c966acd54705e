package monitor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/monitor/monitortest"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/samenloopindex"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// TestProjectionsShown: Termijnen and the Overzicht say, in Dutch, that
// the timers are being rebuilt and since when, that the samenloop index
// is incomplete, and then when the timers were last rebuilt by
// themselves, from how many events and why; a rebuild for a new region,
// where nothing was missing, is not worth a line.
func TestProjectionsShown(t *testing.T) {
	t.Parallel()
	reg := accessRegionConfig(t)
	rdb := redistest.Start(t).Client(t)
	now := time.Date(2026, 11, 24, 9, 33, 0, 0, time.UTC) // 10:33 in Amsterdam
	base := monitortest.Serve(t, monitor.Config{Region: reg, JetStream: natstest.Start(t).JS, Redis: rdb,
		Now: func() time.Time { return now }, Auth: monitor.Auth{Open: true}})
	ts, err := timers.New(rdb, timers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := samenloopindex.New(rdb, samenloopindex.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	contains := func(page, path string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("%s lacks %q:\n%s", path, w, page)
			}
		}
	}

	// An escalator took the lock at 10:30:00; no samenloop service ran.
	l, _, err := projection.Acquire(ctx, rdb, ts.Projection(), time.Minute, now.Add(-3*time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	rebuilding := `<p class="alert oranje" id="rebuild-termijnen" role="status">De termijnen worden opnieuw opgebouwd uit EVENTS, sinds 24-11-2026 10:30:00 (3 min). Tot dat klaar is gaan er geen escalaties uit; daarna gaan ze verder, geen dubbel.</p>`
	incomplete := `<p class="alert oranje" id="rebuild-samenloop" role="status">De samenloopindex is niet compleet in Redis; de samenloopdienst bouwt hem opnieuw op uit EVENTS zodra hij draait.`
	contains(page(t, base, "/termijnen"), "/termijnen", rebuilding)
	contains(page(t, base, "/"), "/", rebuilding, incomplete, `id="samenloop-open">onbekend (index wordt opgebouwd)<`)
	contains(page(t, base, "/fragment/overzicht"), "/fragment/overzicht", rebuilding)

	// The escalator finished at 10:35, from 1234 events; the samenloop
	// service built an index for a region without events.
	built := now.Add(2 * time.Minute)
	if _, err := projection.Build(ctx, l, time.Minute, func() time.Time { return built }, func(context.Context, projection.Writer) (projection.Marker, error) {
		return projection.Marker{Seq: 4000, Events: 1234, Reason: projection.ReasonEmpty}, nil
	}); err != nil {
		t.Fatal(err)
	}
	sl, _, err := projection.Acquire(ctx, rdb, ix.Projection(), time.Minute, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := projection.Build(ctx, sl, time.Minute, func() time.Time { return now }, func(context.Context, projection.Writer) (projection.Marker, error) {
		return projection.Marker{Reason: projection.ReasonEmpty}, nil
	}); err != nil {
		t.Fatal(err)
	}
	rebuilt := `<p class="muted" id="rebuilt-termijnen">De termijnen zijn laatst automatisch opnieuw opgebouwd op 24-11-2026 10:35, uit 1234 events in `
	why := `: Redis was leeg (herstart zonder opslag, geleegd, of een nieuwe regio).</p>`
	for _, path := range []string{"/termijnen", "/"} {
		p := page(t, base, path)
		contains(p, path, rebuilt, why)
		if strings.Contains(p, "rebuild-") || strings.Contains(p, "rebuilt-samenloop") {
			t.Errorf("%s still says a projection is incomplete, or speaks of the new region's index:\n%s", path, p)
		}
	}
	contains(page(t, base, "/"), "/", `id="samenloop-open">0<`)
}
