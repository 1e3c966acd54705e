package projector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

var (
	errUnavailable = errors.New("toy: Redis unavailable")
	errInvalid     = errors.New("toy: invalid")
)

// toy is a projection that keeps what it applied in memory and only its
// marker in Redis.
type toy struct {
	mu      sync.Mutex
	applied []string // id by sender
	failed  bool     // "flaky" failed once
}

func (ty *toy) apply(_ context.Context, _ projection.Writer, in projector.Input) error {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	switch in.Event.ID() {
	case "invalid":
		return fmt.Errorf("apply: %w", errInvalid)
	case "flaky":
		if !ty.failed {
			ty.failed = true
			return errors.New("apply: JetStream away")
		}
	}
	ty.applied = append(ty.applied, in.Event.ID()+" by "+in.Sender)
	return nil
}

func (ty *toy) ids() []string {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	return append([]string(nil), ty.applied...)
}

type fixture struct {
	env     *natstest.Env
	rdb     *redis.Client
	keys    projection.Keys
	proj    *projector.Projector
	toy     *toy
	logs    *logtest.Buffer
	metrics *prometheus.Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := natstest.Start(t)
	rdb := redistest.Start(t).Client(t)
	logger, logs := logtest.New()
	reg := prometheus.NewRegistry()
	keys := projection.KeysOf("toy:", "data")
	ty := &toy{}
	p := projector.New(projector.Config{
		Service: "toy", Projection: "toy projection", What: "the toy",
		JetStream: env.JS, Redis: rdb, Keys: keys,
		Consumer: jetstream.ConsumerConfig{
			Durable:        "toy",
			FilterSubjects: []string{events.EventTypeSubject(events.TypeSignaal)},
			AckPolicy:      jetstream.AckExplicitPolicy,
			AckWait:        30 * time.Second,
			MaxAckPending:  1,
			DeliverPolicy:  jetstream.DeliverAllPolicy,
		},
		Apply: ty.apply,
		Note:  func(ctx context.Context, w projection.Writer) error { return projection.Note(ctx, rdb, keys, w) },
		Rebuild: func(context.Context, projection.Writer, uint64) (projection.Marker, error) {
			return projection.Marker{}, nil
		},
		Unavailable: errUnavailable,
		Invalid:     errInvalid,
		Logs: projector.Logs{
			Unreadable: "toy: unreadable", Invalid: "toy: invalid", Rebuilding: "toy: rebuilding", NotStored: "toy: not stored",
		},
		Size:          prometheus.GaugeOpts{Name: "ketenbus_toy_items", Help: "Items."},
		Count:         func(context.Context) (int64, error) { return 7, nil },
		Logger:        logger,
		Metrics:       reg,
		CheckInterval: 50 * time.Millisecond,
	})
	return &fixture{env: env, rdb: rdb, keys: keys, proj: p, toy: ty, logs: logs, metrics: reg}
}

// TestHandle: every event is acked and noted in the marker: one applied,
// one unreadable, one the projection cannot take, and one whose first
// try fails, which comes back and is applied then.
func TestHandle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	env, p, logs, reg := f.env, f.proj, f.logs, f.metrics
	runtest.Start(t, "toy", func(ctx context.Context) error { return p.Run(ctx) })
	runtest.Eventually(t, 20*time.Second, "the toy complete", p.Complete)

	signaal := func(id string) map[string]any {
		return map[string]any{"specversion": "1.0", "id": id, "source": "urn:nld:oin:00000009999999990001:systeem:bvh", "type": events.TypeSignaal}
	}
	env.StoreEvent(t, "politie", signaal("s-1"))
	if _, err := env.JS.Publish(context.Background(), events.EventSubject(events.TypeSignaal, "politie"), []byte("not json")); err != nil {
		t.Fatal(err)
	}
	env.StoreEvent(t, "politie", signaal("invalid"))
	env.StoreEvent(t, "ggz", signaal("flaky"))

	runtest.Eventually(t, 20*time.Second, "every event acked", func() bool {
		pos, _, err := streams.ConsumerPosition(context.Background(), env.JS, events.StreamEvents, "toy")
		return err == nil && pos.Acked == 4
	})
	if got := strings.Join(f.toy.ids(), ", "); got != "s-1 by politie, flaky by ggz" {
		t.Errorf("applied %s", got)
	}
	st, err := projection.Read(context.Background(), f.rdb, f.keys)
	if err != nil || !st.Complete || st.Holds() != 4 {
		t.Errorf("marker %+v (%v), want complete holding 4", st, err)
	}
	for msg, level := range map[string]string{"toy: unreadable": "ERROR", "toy: invalid": "ERROR", "toy: not stored": "WARN"} {
		if !strings.Contains(logs.String(), `"level":"`+level+`","msg":"`+msg+`"`) {
			t.Errorf("no %s line %q in\n%s", level, msg, logs)
		}
	}
	if !p.Ready() {
		t.Error("not ready")
	}
	for name, want := range map[string]float64{"ketenbus_toy_ready": 1, "ketenbus_toy_items": 7, "ketenbus_toy_rebuilding": 0} {
		if got := metrictest.Value(t, reg, name, nil); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := metrictest.Value(t, reg, "ketenbus_toy_rebuilds_total", map[string]string{"reason": projection.ReasonEmpty}); got != 1 {
		t.Errorf("rebuilds = %v, want 1", got)
	}
}

// TestObserve: Redis not answering makes the projector unready; an
// error that says nothing about Redis changes nothing; an answer makes
// it ready again.
func TestObserve(t *testing.T) {
	t.Parallel()
	p := newFixture(t).proj
	for _, step := range []struct {
		err   error
		ready bool
	}{
		{nil, true},
		{fmt.Errorf("read: %w", errUnavailable), false},
		{errors.New("something else"), false},
		{fmt.Errorf("write: %w", projection.ErrIncomplete), true},
		{errors.New("something else"), true},
	} {
		p.Observe(step.err)
		if p.Ready() != step.ready {
			t.Fatalf("after %v: ready %v, want %v", step.err, p.Ready(), step.ready)
		}
	}
}
