// Package projectortest is what the tests of the services that keep a
// projection of EVENTS in Redis (package projector: the escalator, the
// samenloop service) share: a fixture of the real parts they run on, a
// wait for the events they produce, the ways Redis loses a projection,
// and reading their log lines.
package projectortest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/clocktest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// Fixture is an embedded nats-server with the ketenbus streams, a real
// redis-server, a clock and the region of the test package's
// testdata/region.yaml.
type Fixture struct {
	Env    *natstest.Env
	Redis  *redistest.Server
	RDB    *redis.Client
	Clock  *clocktest.Clock
	Region *region.Config
	// Logs and Metrics are those of the last Instance.
	Logs    *logtest.Buffer
	Metrics *prometheus.Registry
}

// New starts the fixture, its clock at now; everything stops when the
// test ends.
func New(t *testing.T, now time.Time, opts ...redistest.Option) *Fixture {
	t.Helper()
	reg, err := region.Load("testdata/region.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := redistest.Start(t, opts...)
	_, logs := logtest.New()
	return &Fixture{Env: natstest.Start(t), Redis: srv, RDB: srv.Client(t), Clock: clocktest.New(now), Region: reg,
		Logs: logs, Metrics: prometheus.NewRegistry()}
}

// Instance returns the logger and the metrics registry of a new instance
// of the service, and keeps them as Logs and Metrics.
func (f *Fixture) Instance() (*slog.Logger, *prometheus.Registry) {
	logger, logs := logtest.New()
	f.Logs, f.Metrics = logs, prometheus.NewRegistry()
	return logger, f.Metrics
}

// WaitProduced waits until EVENTS holds n events of type typ that
// ketenbus produced, checks it stays at n for a moment (a double would
// show up then), and returns them, each checked against the catalog.
func (f *Fixture) WaitProduced(t *testing.T, typ string, n int) []cloudevents.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(f.Env.Produced(t, typ)) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
	got := f.Env.Produced(t, typ)
	if len(got) != n {
		var list []string
		for _, ev := range got {
			list = append(list, fmt.Sprintf("%s to %v: %s", ev.ID(), ev.Extensions()[events.ExtensionOntvanger], ev.Data()))
		}
		t.Fatalf("%d %s events, want %d: %v", len(got), typ, n, list)
	}
	return got
}

// WaitComplete waits until complete reports the projection (what)
// complete.
func WaitComplete(t *testing.T, what string, complete func() bool) {
	t.Helper()
	runtest.Eventually(t, 20*time.Second, what+" in Redis complete", complete)
}

// Losses are the ways Redis loses everything, by name: FLUSHALL, and a
// restart without persistence.
func Losses() map[string]func(*testing.T, *Fixture) {
	return map[string]func(*testing.T, *Fixture){
		"FLUSHALL": func(t *testing.T, f *Fixture) {
			t.Helper()
			if err := f.RDB.FlushAll(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
		},
		"restart without persistence": func(t *testing.T, f *Fixture) { f.Redis.Restart(t) },
	}
}

// Line is a line of the JSON log.
type Line struct {
	Level  string `json:"level"`
	Msg    string `json:"msg"`
	Reason string `json:"reason"`
	Events uint64 `json:"events"`
	Took   int64  `json:"took"`
}

// Lines returns the lines of logs whose message starts with msg.
func Lines(logs *logtest.Buffer, msg string) []Line {
	var out []Line
	for l := range strings.SplitSeq(logs.String(), "\n") {
		var ll Line
		if json.Unmarshal([]byte(l), &ll) == nil && strings.HasPrefix(ll.Msg, msg) {
			out = append(out, ll)
		}
	}
	return out
}
