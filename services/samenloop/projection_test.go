package samenloop_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/projectortest"
)

// rebuilds returns ketenbus_samenloop_rebuilds_total{reason} of reg.
func rebuilds(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	return metrictest.Value(t, reg, "ketenbus_samenloop_rebuilds_total", map[string]string{"reason": reason})
}

// warnings returns the events count of the WARN lines of logs whose
// message starts with msg.
func warnings(logs *logtest.Buffer, msg string) []uint64 {
	var out []uint64
	for _, l := range projectortest.Lines(logs, msg) {
		if l.Level == "WARN" {
			out = append(out, l.Events)
		}
	}
	return out
}

// distinct fails the test when a samenloop event id is on EVENTS twice.
func distinct(t *testing.T, f *fixture) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range f.samenloopEvents(t) {
		if seen[e.ID] {
			t.Fatalf("samenloop event %s stored twice", e.ID)
		}
		seen[e.ID] = true
	}
}

// TestIndexComesBackEmpty: politie signalled a person; then Redis loses
// everything (FLUSHALL; a restart without persistence). The service
// notices, says so and rebuilds the index from EVENTS: ggz signalling the
// person next joins politie, politie signalling again changes nothing,
// wijkteam joins both; no samenloop event is sent twice.
func TestIndexComesBackEmpty(t *testing.T) {
	t.Parallel()
	for name, lose := range projectortest.Losses() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, s := startIndexed(t)

			lose(t, f.Fixture)
			f.signaal(t, signaal{partner: "ggz", id: "g-1", at: t0.Add(time.Hour)})
			by := f.waitEvents(t, 3)
			wantAbout(t, by, "ggz", []string{"politie"}, []string{"g-1"})
			wantAbout(t, by, "politie", []string{"ggz"}, []string{"p-1"})
			f.signaal(t, signaal{partner: "politie", id: "p-2", at: t0.Add(2 * time.Hour)})
			f.waitIndexed(t, s, 3)
			f.signaal(t, signaal{partner: "wijkteam", id: "w-1", at: t0.Add(3 * time.Hour)})
			by = f.waitEvents(t, 3+4)
			if got := about(by["wijkteam"][0]); !slices.Equal(got, []string{"politie", "ggz"}) {
				t.Errorf("wijkteam told about %v, want [politie ggz]", got)
			}
			distinct(t, f)

			if w := warnings(f.Logs, "samenloop index: not in Redis, and no marker either"); len(w) != 2 {
				t.Errorf("%d warnings that the index is rebuilt, want 2 (the start, then the loss)", len(w))
			}
			// From politie's signaal, and ggz's when it was given to the
			// service before the rebuild began.
			if w := warnings(f.Logs, "samenloop index: rebuilt from EVENTS"); len(w) != 2 || w[1] < 1 || w[1] > 2 {
				t.Errorf("rebuilt from %v events, want a second rebuild from one or two signalen", w)
			}
			if got := rebuilds(t, f.Metrics, "empty"); got != 2 {
				t.Errorf(`ketenbus_samenloop_rebuilds_total{reason="empty"} = %v, want 2`, got)
			}
			if logs := f.Logs.String(); strings.Contains(logs, pseudonym) || strings.Contains(logs, "999993653") {
				t.Errorf("the log names the person:\n%s", logs)
			}
		})
	}
}

// TestIndexLostItsLastWrites: Redis comes back with an older copy of the
// index, from before ggz joined politie's samenloop. The service replays
// EVENTS from there without telling anyone again; wijkteam, signalling
// next, joins both.
func TestIndexLostItsLastWrites(t *testing.T) {
	t.Parallel()
	f, s := startIndexed(t)
	if err := f.RDB.Save(context.Background()).Err(); err != nil { // the copy Redis comes back with
		t.Fatal(err)
	}
	f.signaal(t, signaal{partner: "ggz", id: "g-1", at: t0.Add(time.Hour)})
	f.waitEvents(t, 3)
	f.Redis.Kill()
	f.Redis.Restart(t)
	f.waitIndexed(t, s, 2)
	f.signaal(t, signaal{partner: "wijkteam", id: "w-1", at: t0.Add(2 * time.Hour)})
	by := f.waitEvents(t, 3+4)
	if got := about(by["wijkteam"][0]); !slices.Equal(got, []string{"politie", "ggz"}) {
		t.Errorf("wijkteam told about %v, want [politie ggz]", got)
	}
	distinct(t, f)
	if w := warnings(f.Logs, "samenloop index: Redis lost its last writes"); len(w) != 1 {
		t.Errorf("%d warnings that Redis lost its last writes, want 1", len(w))
	}
	if got := rebuilds(t, f.Metrics, "behind"); got != 1 {
		t.Errorf(`ketenbus_samenloop_rebuilds_total{reason="behind"} = %v, want 1`, got)
	}
}

// TestRunStoppedAtOnce: Run returns nil when its context ends before it
// got going (a dev stack closed right after it started).
func TestRunStoppedAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.service(t, "").Run(ctx); err != nil {
		t.Fatalf("Run with its context ended: %v, want nil", err)
	}
}
