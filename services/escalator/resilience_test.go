package escalator_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// dueTimers schedules n timers of their last ladder level, all due at due.
func dueTimers(t *testing.T, store *timers.Store, n int, due time.Time) {
	t.Helper()
	ts := make([]timers.Timer, n)
	for i := range ts {
		id := fmt.Sprintf("r-%05d", i)
		ts[i] = timers.Timer{
			ID: events.MsgID(sourcePolitie, id), Kind: "aanmelding",
			Betreft: timers.Ref{Source: sourcePolitie, ID: id, Type: events.TypeAanmelding},
			Subject: pseudonym, Ontvanger: "ggz", Sender: "politie",
			Level: 2, Reden: string(events.RedenTermijnVerstreken), Termijn: due, Due: due.Add(time.Duration(i%1000) * time.Millisecond),
		}
	}
	if err := store.ScheduleMany(context.Background(), ts); err != nil {
		t.Fatal(err)
	}
}

// countEscalaties counts escalatie messages on EVENTS and distinct ids.
func (f *fixture) countEscalaties(t *testing.T) (msgs, ids int) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range f.Env.Messages(t, events.StreamEvents) {
		if m.Subject == "ketenbus.events.escalatie.v1.ketenbus" {
			msgs++
			seen[m.Header.Get("Nats-Msg-Id")] = true
		}
	}
	return msgs, len(seen)
}

func (f *fixture) waitCount(t *testing.T, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		msgs, ids := f.countEscalaties(t)
		if msgs >= want || time.Now().After(deadline) {
			if msgs != want || ids != want {
				var seen []string
				if msgs < 50 {
					for _, g := range f.escalaties(t) {
						seen = append(seen, fmt.Sprintf("%s/niveau %d/%s", g.Data.Betreft.ID, g.Data.Niveau, g.Ontvanger))
					}
				}
				t.Fatalf("%d escalaties (%d distinct), want exactly %d: %v", msgs, ids, want, seen)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicasFireEachTimerOnce: two escalator replicas against one Redis,
// 10,000 timers due in the same second; one replica stops in the middle.
// Every timer yields exactly one escalatie in EVENTS.
func TestReplicasFireEachTimerOnce(t *testing.T) {
	t.Parallel()
	due := at("2026-04-11T00:00:00+02:00")
	f := newFixture(t, due.Add(-time.Hour))
	a, stopA := f.start(t)
	f.start(t)
	const n = 10000
	dueTimers(t, a.Store(), n, due)
	f.Clock.Set(due.Add(time.Second))
	// Stop replica A while the timers are being fired.
	deadline := time.Now().Add(20 * time.Second)
	for msgs, _ := f.countEscalaties(t); msgs < n/5 && time.Now().Before(deadline); msgs, _ = f.countEscalaties(t) {
		time.Sleep(5 * time.Millisecond)
	}
	stopA()
	// Whatever A had claimed comes back after its lease.
	f.Clock.Set(due.Add(10 * time.Second))
	f.waitCount(t, n, 3*time.Minute) // an upper bound: about 10s on an idle machine
	if p, err := a.Store().Pending(context.Background()); err != nil || p != 0 {
		t.Fatalf("%d timers pending (%v), want 0", p, err)
	}
}

// TestRedisRestartLosesNothing: Redis (with AOF) restarts while timers
// are pending and events keep coming; every term still escalates once.
func TestRedisRestartLosesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted, redistest.WithAOF())
	e, _ := f.start(t)
	f.aanmeldingen(t, e, 0, 20)
	f.Redis.Restart(t)
	f.aanmeldingen(t, e, 20, 40)
	f.Clock.Set(at("2026-04-11T00:00:00+02:00"))
	f.waitCount(t, 40, 20*time.Second)
}

// TestRedisDownStopsAckingAndCatchesUp: while Redis is unreachable the
// escalator reports not ready and does not ack; afterwards it catches up.
func TestRedisDownStopsAckingAndCatchesUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted, redistest.WithAOF())
	e, _ := f.start(t)
	f.aanmelding(t, "a-0", posted, 5)
	waitTimer(t, e, sourcePolitie, "a-0", true)
	waitReady(t, e, true)
	f.Redis.Stop()
	f.aanmelding(t, "a-1", posted, 5)
	waitReady(t, e, false)
	if got := gauge(t, f, "ketenbus_escalator_ready"); got != 0 {
		t.Fatalf("ketenbus_escalator_ready = %v with Redis down, want 0", got)
	}
	f.Redis.Restart(t)
	waitTimer(t, e, sourcePolitie, "a-1", true) // the event came back
	f.Clock.Set(at("2026-04-11T00:00:00+02:00"))
	f.waitCount(t, 2, 20*time.Second)
	waitReady(t, e, true)
}

// waitReady waits until the escalator's readiness is want.
func waitReady(t *testing.T, e *escalator.Escalator, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.Ready() != want {
		if time.Now().After(deadline) {
			t.Fatalf("ready = %v for 10s, want %v", !want, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gauge reads a gauge from the fixture's metrics registry.
func gauge(t *testing.T, f *fixture, name string) float64 {
	t.Helper()
	mfs, err := f.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// TestEventsRefusingFiresAgainSoon: a timer falls due while JetStream
// refuses its escalatie (here: EVENTS full; in production a leader being
// elected). Once EVENTS takes messages again the escalatie follows within
// a second, not after the claim's lease, which is for a claimer that died.
func TestEventsRefusingFiresAgainSoon(t *testing.T) {
	t.Parallel()
	f, _ := startAanmelding(t)

	ctx := context.Background()
	st, err := f.Env.JS.Stream(ctx, events.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	full := cfg
	full.MaxMsgs = int64(st.CachedInfo().State.Msgs) // with DiscardNew: nothing more is stored
	if _, err := f.Env.JS.UpdateStream(ctx, full); err != nil {
		t.Fatal(err)
	}
	f.Clock.Set(at("2026-04-11T00:00:00+02:00")) // level 1 due
	runtest.Eventually(t, 10*time.Second, "the escalatie refused", func() bool {
		return strings.Contains(f.Logs.String(), "escalaties not stored; their timers fire again shortly")
	})
	if _, err := f.Env.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// Past the retry, within the lease (2s in these tests).
	f.Clock.Set(at("2026-04-11T00:00:01.5+02:00"))
	f.waitLevels(t, once("a-1/1"))
}
