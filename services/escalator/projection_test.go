package escalator_test

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/projectortest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// levels counts the escalatie messages on EVENTS per aanmelding and
// niveau, as "a-3/2".
func (f *fixture) levels(t *testing.T) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, e := range f.escalaties(t) {
		got[fmt.Sprintf("%s/%d", e.Data.Betreft.ID, e.Data.Niveau)]++
	}
	return got
}

// waitLevels waits until EVENTS holds the escalaties of want, checks that
// no other one comes for a moment, and fails unless each level of each
// aanmelding fired exactly as often as want says (once).
func (f *fixture) waitLevels(t *testing.T, want map[string]int) {
	t.Helper()
	total := 0
	for _, n := range want {
		total += n
	}
	st, err := f.Env.JS.Stream(context.Background(), events.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	subject := events.EventSubject(events.TypeEscalatie, events.Producer)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		info, err := st.Info(context.Background(), jetstream.WithSubjectFilter(subject))
		if err == nil && info.State.Subjects[subject] >= uint64(total) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a double would show up now
	if got := f.levels(t); !maps.Equal(got, want) {
		t.Fatalf("escalaties per aanmelding/niveau:\n got %v\nwant %v", got, want)
	}
}

// once returns want with every key counted once.
func once(keys ...string) map[string]int {
	m := map[string]int{}
	for _, k := range keys {
		m[k] = 1
	}
	return m
}

// metric returns the counter or gauge name of reg, with label reason
// when it is not "".
func metric(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	var labels map[string]string
	if reason != "" {
		labels = map[string]string{"reason": reason}
	}
	return metrictest.Value(t, reg, name, labels)
}

const (
	foundEmpty    = "escalation timers: not in Redis, and no marker either (Redis restarted empty, was flushed, or the region is new); rebuilding from EVENTS"
	foundUnmarked = "escalation timers: in Redis without the marker that says complete (the first start of this version, or a rebuild that did not finish); rebuilding from EVENTS"
	foundBehind   = "escalation timers: Redis lost its last writes"
	rebuilt       = "escalation timers: rebuilt from EVENTS"
)

// TestNewRegion: an empty Redis and an empty EVENTS: the escalator marks
// its timers complete at once, and says so.
func TestNewRegion(t *testing.T) {
	t.Parallel()
	f := newFixture(t, at("2026-04-02T10:00:00+02:00"))
	e, _ := f.start(t)
	st, err := projection.Read(context.Background(), f.RDB, e.Store().Projection())
	if err != nil || !st.Complete || st.Seq != 0 || st.Events != 0 || st.Reason != projection.ReasonEmpty {
		t.Fatalf("marker of a new region: %+v, %v", st, err)
	}
	if l := projectortest.Lines(f.Logs, foundEmpty); len(l) != 1 || l[0].Level != "WARN" {
		t.Errorf("log lines %+v, want one warning that the timers are rebuilt", l)
	}
	if l := projectortest.Lines(f.Logs, rebuilt); len(l) != 1 || l[0].Events != 0 {
		t.Errorf("log lines %+v, want one saying the timers were rebuilt from 0 events", l)
	}
}

// TestRedisComesBackEmpty: a running escalator whose Redis loses
// everything (FLUSHALL; a restart without persistence, a new process on
// the same port) after the first level of six terms fired. It notices by
// itself, says so, rebuilds the timers from EVENTS (the fired levels
// included), applies what arrives meanwhile (a bevestiging, a new
// aanmelding), and fires every level due afterwards exactly once.
func TestRedisComesBackEmpty(t *testing.T) {
	t.Parallel()
	for name, lose := range projectortest.Losses() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, posted)
			e, _ := f.start(t)
			f.aanmeldingen(t, e, 0, 6)
			f.Clock.Set(at("2026-04-11T00:00:00+02:00")) // level 1 of each
			f.waitLevels(t, once("a-0/1", "a-1/1", "a-2/1", "a-3/1", "a-4/1", "a-5/1"))

			lose(t, f.Fixture)
			f.bevestiging(t, "ggz", sourceGGZ, "b-3", "a-3", "opgepakt")
			f.aanmelding(t, "a-6", posted, 5)
			waitTimer(t, e, sourcePolitie, "a-6", true)
			waitTimer(t, e, sourcePolitie, "a-3", false)
			for _, id := range []string{"a-0", "a-5"} {
				tm, ok, err := e.Store().Get(context.Background(), timerIDOf(id))
				if err != nil || !ok || tm.Level != 2 {
					t.Fatalf("rebuilt timer of %s: %+v, %v, %v; want level 2 next", id, tm, ok, err)
				}
			}

			// a-6's term ended on 9 April: its level 1 fires now, and its
			// level 2 comes its working days later.
			f.waitLevels(t, once("a-0/1", "a-1/1", "a-2/1", "a-3/1", "a-4/1", "a-5/1", "a-6/1"))

			// 16 April: level 2 of each term, but a-3's (acknowledged); a-6's
			// level 2.
			f.Clock.Set(at("2026-04-16T00:00:00+02:00"))
			f.waitLevels(t, once("a-0/1", "a-1/1", "a-2/1", "a-3/1", "a-4/1", "a-5/1",
				"a-0/2", "a-1/2", "a-2/2", "a-4/2", "a-5/2", "a-6/1", "a-6/2"))

			// Said once at the start (a new region) and once now.
			if l := projectortest.Lines(f.Logs, foundEmpty); len(l) != 2 || l[1].Level != "WARN" || l[1].Reason != "empty" {
				t.Errorf("log lines %+v, want a second warning that Redis lost the timers", l)
			}
			if l := projectortest.Lines(f.Logs, rebuilt); len(l) != 2 || l[1].Events < 12 || l[1].Took <= 0 {
				t.Errorf("log lines %+v, want a second saying from how many events (12 or more) and how long", l)
			}
			if logs := f.Logs.String(); strings.Contains(logs, pseudonym) || strings.Contains(logs, "111222333") {
				t.Errorf("the log names the person:\n%s", logs)
			}
			if got := metric(t, f.Metrics, "ketenbus_escalator_rebuilds_total", "empty"); got != 2 {
				t.Errorf(`ketenbus_escalator_rebuilds_total{reason="empty"} = %v, want 2`, got)
			}
			for _, reason := range []string{"unmarked", "behind"} {
				if got := metric(t, f.Metrics, "ketenbus_escalator_rebuilds_total", reason); got != 0 {
					t.Errorf(`ketenbus_escalator_rebuilds_total{reason=%q} = %v, want 0`, reason, got)
				}
			}
			if got := metric(t, f.Metrics, "ketenbus_escalator_rebuilding", ""); got != 0 {
				t.Errorf("ketenbus_escalator_rebuilding = %v once rebuilt, want 0", got)
			}
		})
	}
}

// timerIDOf returns the timer id of aanmelding id of politie.
func timerIDOf(id string) string { return events.MsgID(sourcePolitie, id) }

// TestReplicasRebuildOnce: two escalators on one Redis that is flushed:
// one rebuilds, the other waits for it; no level fires twice.
func TestReplicasRebuildOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted)
	a, _ := f.start(t)
	regA, logsA := f.Metrics, f.Logs
	b, _ := f.start(t)
	regB, logsB := f.Metrics, f.Logs
	rebuilds := func() float64 {
		return metric(t, regA, "ketenbus_escalator_rebuilds_total", "empty") + metric(t, regB, "ketenbus_escalator_rebuilds_total", "empty")
	}
	if n := rebuilds(); n != 1 {
		t.Fatalf("%v rebuilds when the two started on a new region, want 1", n)
	}
	f.aanmeldingen(t, a, 0, 20)
	if err := f.RDB.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	// Level 1 is long due; level 2 comes its working days after level 1
	// fired.
	f.Clock.Set(at("2026-04-16T00:00:00+02:00"))
	want := map[string]int{}
	for i := range 20 {
		want[fmt.Sprintf("a-%d/1", i)] = 1
	}
	f.waitLevels(t, want)
	f.Clock.Set(at("2026-04-30T00:00:00+02:00"))
	for i := range 20 {
		want[fmt.Sprintf("a-%d/2", i)] = 1
	}
	f.waitLevels(t, want)
	waitComplete(t, a)
	waitComplete(t, b)
	if n := rebuilds(); n != 2 {
		t.Fatalf("%v rebuilds in all, want 2: one after the flush", n)
	}
	// Begun twice in all: at the start and after the flush, by one each.
	if n := len(projectortest.Lines(logsA, foundEmpty)) + len(projectortest.Lines(logsB, foundEmpty)); n != 2 {
		t.Fatalf("%d rebuilds begun, want 2", n)
	}
}

// TestUpgradeRebuildsOnce: a Redis with the timers of a version that had
// no marker: the escalator rebuilds them once, says so, and the timers
// are the same; the next start rebuilds nothing.
func TestUpgradeRebuildsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted)
	e, stop := f.start(t)
	for i := range 5 {
		f.aanmelding(t, fmt.Sprintf("a-%d", i), posted, 3+i)
	}
	f.bevestiging(t, "ggz", sourceGGZ, "b-1", "a-1", "opgepakt")
	waitTimer(t, e, sourcePolitie, "a-1", false)
	f.Clock.Set(at("2026-04-09T00:00:00+02:00")) // a-0's level 1
	f.waitLevels(t, once("a-0/1"))
	stop()
	before := allTimers(t, e.Store())
	if err := f.RDB.Del(context.Background(), e.Store().Projection().Marker).Err(); err != nil {
		t.Fatal(err)
	}

	e, stop = f.start(t)
	if l := projectortest.Lines(f.Logs, foundUnmarked); len(l) != 1 || l[0].Level != "WARN" {
		t.Errorf("log lines %+v, want one warning about timers without a marker", l)
	}
	if got := metric(t, f.Metrics, "ketenbus_escalator_rebuilds_total", "unmarked"); got != 1 {
		t.Errorf(`ketenbus_escalator_rebuilds_total{reason="unmarked"} = %v, want 1`, got)
	}
	if after := allTimers(t, e.Store()); !reflect.DeepEqual(before, after) {
		t.Fatalf("timers after the upgrade differ:\nbefore %+v\nafter  %+v", before, after)
	}
	stop()

	f.start(t)
	if got := metric(t, f.Metrics, "ketenbus_escalator_rebuilds_total", "unmarked") + metric(t, f.Metrics, "ketenbus_escalator_rebuilds_total", "empty"); got != 0 {
		t.Errorf("%v rebuilds at the next start, want 0", got)
	}
	// Level 2 comes its working days after level 1 fired.
	f.Clock.Set(at("2026-04-30T00:00:00+02:00"))
	f.waitLevels(t, once("a-0/1", "a-0/2", "a-2/1", "a-3/1", "a-4/1"))
	f.Clock.Set(at("2026-05-14T00:00:00+02:00"))
	f.waitLevels(t, once("a-0/1", "a-0/2", "a-2/1", "a-2/2", "a-3/1", "a-3/2", "a-4/1", "a-4/2"))
}

// TestRedisLostItsLastWrites: Redis comes back with an older copy of its
// data (an asynchronous replica promoted, a snapshot): it misses the
// timers of the last aanmeldingen, which EVENTS says were applied. The
// escalator replays EVENTS from where that copy was, and every term
// still escalates once.
func TestRedisLostItsLastWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted)
	e, _ := f.start(t)
	f.aanmeldingen(t, e, 0, 5)
	if err := f.RDB.Save(context.Background()).Err(); err != nil { // the copy Redis comes back with
		t.Fatal(err)
	}
	for i := 5; i < 10; i++ {
		f.aanmelding(t, fmt.Sprintf("a-%d", i), posted, 5)
	}
	f.bevestiging(t, "ggz", sourceGGZ, "b-2", "a-2", "opgepakt")
	waitTimer(t, e, sourcePolitie, "a-9", true)
	waitTimer(t, e, sourcePolitie, "a-2", false)
	f.Redis.Kill()
	f.Redis.Restart(t) // loads the copy
	if _, ok, _ := e.Store().Get(context.Background(), timerIDOf("a-9")); ok {
		t.Log("the escalator caught up before the test looked")
	}
	waitTimer(t, e, sourcePolitie, "a-9", true)
	waitTimer(t, e, sourcePolitie, "a-2", false)
	// Level 2 comes its working days after level 1 fired.
	f.Clock.Set(at("2026-04-16T00:00:00+02:00"))
	want := map[string]int{}
	for i := range 10 {
		if i != 2 {
			want[fmt.Sprintf("a-%d/1", i)] = 1
		}
	}
	f.waitLevels(t, want)
	f.Clock.Set(at("2026-04-30T00:00:00+02:00"))
	for i := range 10 {
		if i != 2 {
			want[fmt.Sprintf("a-%d/2", i)] = 1
		}
	}
	f.waitLevels(t, want)
	if l := projectortest.Lines(f.Logs, foundBehind); len(l) != 1 || l[0].Level != "WARN" {
		t.Errorf("log lines %+v, want one warning that Redis lost its last writes", l)
	}
	if got := metric(t, f.Metrics, "ketenbus_escalator_rebuilds_total", "behind"); got != 1 {
		t.Errorf(`ketenbus_escalator_rebuilds_total{reason="behind"} = %v, want 1`, got)
	}
	if got := metric(t, f.Metrics, "ketenbus_escalator_rebuilds_total", "empty"); got != 1 {
		t.Errorf(`ketenbus_escalator_rebuilds_total{reason="empty"} = %v, want 1 (the start)`, got)
	}
}

// TestRebuildFailsMidway: Redis (with its append-only file) goes away in
// the middle of a rebuild. What the rebuild wrote comes back without a
// marker; the escalator tries again, rebuilds from scratch, and every
// term escalates once.
func TestRebuildFailsMidway(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted, redistest.WithAOF())
	e, _ := f.start(t)
	const n = 600
	for i := range n {
		f.aanmelding(t, fmt.Sprintf("a-%d", i), posted, 5)
	}
	ctx := context.Background()
	runtest.Eventually(t, 2*time.Minute, "every term started", func() bool {
		p, err := e.Store().Pending(ctx)
		return err == nil && p == n
	})
	keys := e.Store().Projection()
	if err := f.RDB.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	runtest.Eventually(t, 20*time.Second, "the rebuild under way", func() bool {
		st, err := projection.Read(ctx, f.RDB, keys)
		return err == nil && st.Rebuilding && st.HasData
	})
	f.Redis.Kill()
	runtest.Eventually(t, 20*time.Second, "the rebuild failed", func() bool {
		return metric(t, f.Metrics, "ketenbus_escalator_rebuild_failures_total", "") >= 1
	})
	f.Redis.Restart(t)
	check := f.Redis.Client(t) // no dial errors of the outage to wait out
	st, err := projection.Read(ctx, check, keys)
	pending, perr := check.ZCard(ctx, keys.Data).Result()
	if err != nil || perr != nil || st.Complete || pending == 0 || pending >= n {
		t.Fatalf("after Redis came back: %+v, %d of %d timers (%v, %v); want part of them and no marker", st, pending, n, err, perr)
	}
	waitComplete(t, e)
	f.Clock.Set(at("2026-04-11T00:00:00+02:00"))
	want := map[string]int{}
	for i := range n {
		want[fmt.Sprintf("a-%d/1", i)] = 1
	}
	f.waitLevels(t, want)
	if l := projectortest.Lines(f.Logs, "escalation timers: rebuild from EVENTS failed; trying again"); len(l) == 0 || l[0].Level != "ERROR" {
		t.Errorf("log lines %+v, want an error saying the rebuild failed and is tried again", l)
	}
}
