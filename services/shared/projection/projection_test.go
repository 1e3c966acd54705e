package projection_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

const prefix = "test:proj:"

var (
	ctx  = context.Background()
	keys = projection.KeysOf(prefix, "data")
	t0   = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
)

// writeScript is a store's write: it sets ARGV[1] under the prefix, or
// returns "skipped" when the guard says so.
var writeScript = redis.NewScript(projection.Lua + `
local g = projectionGuard('skipped')
if g then return g end
redis.call('SET', KEYS[1], ARGV[1])
return 'written'
`)

func write(rdb redis.UniversalClient, w projection.Writer, key string) (string, error) {
	v, err := writeScript.Run(ctx, rdb, w.Keys(keys, prefix+key), w.Args("x")...).Text()
	if err == nil {
		w.Ran()
	}
	return v, projection.Err(err)
}

// build makes the projection complete at seq with a rebuild of no work.
func build(t *testing.T, rdb redis.UniversalClient, seq uint64) {
	t.Helper()
	l, _, err := projection.Acquire(ctx, rdb, keys, time.Minute, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := projection.Build(ctx, l, time.Minute, func() time.Time { return t0 }, func(context.Context, projection.Writer) (projection.Marker, error) {
		return projection.Marker{Seq: seq}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, rdb redis.UniversalClient) projection.State {
	t.Helper()
	st, err := projection.Read(ctx, rdb, keys)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDecide(t *testing.T) {
	t.Parallel()
	marked := projection.State{Complete: true, Marker: projection.Marker{Seq: 10, Applied: 14}, HasData: true}
	for _, tt := range []struct {
		name    string
		st      projection.State
		lost    bool
		inOrder bool
		want    projection.Action
	}{
		{"complete", marked, false, true, projection.Action{}},
		{"Redis lost writes: catch up from the last event it holds", marked, true, true, projection.Action{Rebuild: true, Reason: projection.ReasonBehind, From: 14}},
		{"Redis lost writes, events out of order: from scratch", marked, true, false, projection.Action{Rebuild: true, Reason: projection.ReasonBehind}},
		{"empty Redis", projection.State{}, false, true, projection.Action{Rebuild: true, Reason: projection.ReasonEmpty}},
		{"data without marker", projection.State{HasData: true}, false, true, projection.Action{Rebuild: true, Reason: projection.ReasonUnmarked}},
		{"another rebuild runs", projection.State{Rebuilding: true, HasData: true}, false, true, projection.Action{Wait: true}},
	} {
		if got := projection.Decide(tt.st, tt.lost, tt.inOrder); got != tt.want {
			t.Errorf("%s: Decide = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// TestGuard: a live write fails while the marker is missing, is skipped
// for an event the last rebuild applied and raises Applied otherwise; a
// rebuild's write lands only while it holds the lock; an unguarded write
// always lands.
func TestGuard(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t).Client(t)

	if _, err := write(rdb, projection.Live(3), "a"); !errors.Is(err, projection.ErrIncomplete) {
		t.Fatalf("live write without a marker: %v, want ErrIncomplete", err)
	}
	if err := projection.Note(ctx, rdb, keys, projection.Live(3)); !errors.Is(err, projection.ErrIncomplete) {
		t.Fatalf("Note without a marker: %v, want ErrIncomplete", err)
	}
	if v, err := write(rdb, projection.Writer{}, "free"); err != nil || v != "written" {
		t.Fatalf("unguarded write: %q, %v", v, err)
	}
	if n, _ := rdb.Exists(ctx, prefix+"a").Result(); n != 0 {
		t.Fatal("a refused write left its key")
	}

	build(t, rdb, 5)
	for _, tt := range []struct {
		seq         uint64
		want        string
		wantApplied uint64
	}{
		{5, "skipped", 5}, // the rebuild applied it
		{2, "skipped", 5},
		{7, "written", 7},
		{6, "written", 7}, // lower than Applied: written, Applied stays
		{0, "written", 7}, // no event: firing
	} {
		w := projection.Live(tt.seq)
		v, err := write(rdb, w, fmt.Sprint("k", tt.seq))
		if err != nil || v != tt.want || !w.Wrote() {
			t.Errorf("live write for %d: %q, %v (wrote %v), want %q", tt.seq, v, err, w.Wrote(), tt.want)
		}
		if st := read(t, rdb); st.Applied != tt.wantApplied || st.Seq != 5 {
			t.Errorf("after the write for %d: seq %d applied %d, want 5 and %d", tt.seq, st.Seq, st.Applied, tt.wantApplied)
		}
	}
	if err := projection.Note(ctx, rdb, keys, projection.Live(9)); err != nil {
		t.Fatal(err)
	}
	if st := read(t, rdb); st.Holds() != 9 {
		t.Errorf("after a Note for 9 the marker holds %d", st.Holds())
	}

	l, prev, err := projection.Acquire(ctx, rdb, keys, time.Minute, t0, nil)
	if err != nil || !prev.Complete || prev.Applied != 9 {
		t.Fatalf("Acquire: %v, previous marker %+v", err, prev)
	}
	if _, err := write(rdb, projection.Live(10), "b"); !errors.Is(err, projection.ErrIncomplete) {
		t.Fatalf("live write while rebuilding: %v, want ErrIncomplete", err)
	}
	if v, err := write(rdb, l.Writer(), "c"); err != nil || v != "written" {
		t.Fatalf("the rebuild's write: %q, %v", v, err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := write(rdb, l.Writer(), "d"); !errors.Is(err, projection.ErrFenced) {
		t.Fatalf("a rebuild's write after its lock went: %v, want ErrFenced", err)
	}
	if err := projection.Clear(ctx, rdb, keys, l.Writer(), prefix); !errors.Is(err, projection.ErrFenced) {
		t.Fatalf("Clear after the lock went: %v, want ErrFenced", err)
	}
}

// TestLock: one rebuild at a time; Build marks the projection complete
// only when the rebuild succeeded and still holds the lock; Clear keeps
// the lock.
func TestLock(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t).Client(t)
	now := func() time.Time { return t0 }

	l, prev, err := projection.Acquire(ctx, rdb, keys, time.Minute, t0, nil)
	if err != nil || prev.Complete {
		t.Fatalf("Acquire on an empty Redis: %v, %+v", err, prev)
	}
	if _, _, err := projection.Acquire(ctx, rdb, keys, time.Minute, t0, nil); !errors.Is(err, projection.ErrLocked) || !strings.Contains(err.Error(), "2026-11-24T09:30:00Z") {
		t.Fatalf("second Acquire: %v, want ErrLocked saying since when", err)
	}
	if st := read(t, rdb); !st.Rebuilding || !st.Since.Equal(t0) || st.Complete {
		t.Fatalf("state while rebuilding: %+v", st)
	}

	// A failed rebuild: no marker, the lock released, its data stays.
	_, err = projection.Build(ctx, l, time.Minute, now, func(ctx context.Context, w projection.Writer) (projection.Marker, error) {
		if _, err := write(rdb, w, "data"); err != nil {
			return projection.Marker{}, err
		}
		return projection.Marker{Seq: 40}, errors.New("nats away")
	})
	if err == nil || !strings.Contains(err.Error(), "nats away") {
		t.Fatalf("Build of a failing rebuild: %v", err)
	}
	if st := read(t, rdb); st.Complete || st.Rebuilding || !st.HasData {
		t.Fatalf("after a failed rebuild: %+v, want data, no marker, no lock", st)
	}

	// A rebuild that loses its lock midway: no marker.
	l, _, err = projection.Acquire(ctx, rdb, keys, 30*time.Millisecond, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = projection.Build(ctx, l, 30*time.Millisecond, now, func(ctx context.Context, w projection.Writer) (projection.Marker, error) {
		rdb.Del(ctx, keys.Lock) // another replica saw it expire and took over
		<-ctx.Done()
		return projection.Marker{Seq: 40}, ctx.Err()
	})
	if !errors.Is(err, projection.ErrFenced) {
		t.Fatalf("Build that lost its lock: %v, want ErrFenced", err)
	}
	if st := read(t, rdb); st.Complete {
		t.Fatalf("a rebuild that lost its lock left a marker: %+v", st)
	}

	// A rebuild that takes longer than the TTL keeps its lock by renewing
	// it, clears without deleting it, and completes.
	l, _, err = projection.Acquire(ctx, rdb, keys, 60*time.Millisecond, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := projection.Build(ctx, l, 60*time.Millisecond, now, func(ctx context.Context, w projection.Writer) (projection.Marker, error) {
		if err := projection.Clear(ctx, rdb, keys, w, prefix); err != nil {
			return projection.Marker{}, err
		}
		time.Sleep(200 * time.Millisecond)
		if _, err := write(rdb, w, "data"); err != nil {
			return projection.Marker{}, err
		}
		return projection.Marker{Seq: 40, Events: 12, Reason: projection.ReasonEmpty}, nil
	})
	if err != nil {
		t.Fatalf("Build of a slow rebuild: %v", err)
	}
	st := read(t, rdb)
	if !st.Complete || st.Rebuilding || st.Seq != 40 || st.Applied != 40 || st.Events != 12 || st.Reason != projection.ReasonEmpty ||
		!st.Built.Equal(t0) || st.Took < 200*time.Millisecond || st.Took != m.Took.Truncate(time.Millisecond) {
		t.Fatalf("after the rebuild: %+v (Build returned %+v)", st, m)
	}

	// Acquire as seen: not when the marker changed meanwhile.
	seen := st
	seen.Seq = 39
	if _, _, err := projection.Acquire(ctx, rdb, keys, time.Minute, t0, &seen); !errors.Is(err, projection.ErrChanged) {
		t.Fatalf("Acquire of a marker seen at another seq: %v, want ErrChanged", err)
	}
	if _, _, err := projection.Acquire(ctx, rdb, keys, time.Minute, t0, &projection.State{}); !errors.Is(err, projection.ErrChanged) {
		t.Fatalf("Acquire of a marker seen missing: %v, want ErrChanged", err)
	}
	if !read(t, rdb).Complete {
		t.Fatal("a refused Acquire removed the marker")
	}
}

// fakeService is what a Keeper keeps for: a rebuild that writes the data
// key and says how far EVENTS went.
type fakeService struct {
	rdb      redis.UniversalClient
	last     atomic.Uint64 // EVENTS's last sequence
	floor    atomic.Uint64 // the consumer's ack floor
	calls    atomic.Int32
	froms    chan uint64
	fail     atomic.Int32 // rebuilds left to fail
	slow     atomic.Int64 // how long a rebuild takes
	started  chan struct{}
	metrics  projection.Metrics
	logs     *logtest.Buffer
	lockTTL  time.Duration
	retryFor time.Duration
}

// newFake is a fakeService on a Redis of its own whose rebuilds take
// slow.
func newFake(t *testing.T, slow time.Duration) *fakeService {
	t.Helper()
	f := &fakeService{rdb: redistest.Start(t).Client(t), froms: make(chan uint64, 100), started: make(chan struct{}, 100), metrics: projection.NewMetrics("test", "the test projection"), lockTTL: time.Second, retryFor: 20 * time.Millisecond}
	f.slow.Store(int64(slow))
	return f
}

// runKeeper runs a Keeper of f until the test ends.
func (f *fakeService) runKeeper(t *testing.T) *projection.Keeper {
	t.Helper()
	logger, logs := logtest.New()
	f.logs = logs
	k := projection.NewKeeper(projection.KeeperConfig{
		Name: "test projection", Redis: f.rdb, Keys: keys, InOrder: true,
		Rebuild: func(ctx context.Context, w projection.Writer, from uint64) (projection.Marker, error) {
			f.calls.Add(1)
			f.started <- struct{}{}
			f.froms <- from
			if from == 0 {
				if err := projection.Clear(ctx, f.rdb, keys, w, prefix); err != nil {
					return projection.Marker{}, err
				}
			}
			if _, err := write(f.rdb, w, "data"); err != nil {
				return projection.Marker{}, err
			}
			select {
			case <-time.After(time.Duration(f.slow.Load())):
			case <-ctx.Done():
				return projection.Marker{}, ctx.Err()
			}
			if f.fail.Add(-1) >= 0 {
				return projection.Marker{}, errors.New("nats away")
			}
			return projection.Marker{Seq: f.last.Load(), Events: f.last.Load()}, nil
		},
		AckFloor: func(context.Context) (uint64, error) { return f.floor.Load(), nil },
		Consumes: func(_ context.Context, from, to uint64) (bool, error) {
			// The service consumes the odd sequences.
			return from <= to && (from%2 == 1 || from+1 <= to), nil
		},
		Now:           func() time.Time { return t0 },
		Logger:        logger,
		Metrics:       f.metrics,
		LockTTL:       f.lockTTL,
		CheckInterval: 20 * time.Millisecond,
		WaitInterval:  5 * time.Millisecond,
		RetryAfter:    f.retryFor,
	})
	runtest.Start(t, "keeper", func(ctx context.Context) error { k.Run(ctx); return nil })
	return k
}

// wantLog fails the test unless the keeper logged line.
func (f *fakeService) wantLog(t *testing.T, line string) {
	t.Helper()
	if !strings.Contains(f.logs.String(), line) {
		t.Fatalf("the log lacks %q:\n%s", line, f.logs.String())
	}
}

// wantRebuilds fails the test unless f rebuilt n times; when says at
// which point.
func (f *fakeService) wantRebuilds(t *testing.T, n int32, when string) {
	t.Helper()
	if got := f.calls.Load(); got != n {
		t.Fatalf("%d rebuilds %s, want %d", got, when, n)
	}
}

// wantMetric fails the test unless the metric c, called name, reads want.
func wantMetric(t *testing.T, name string, c prometheus.Collector, want float64) {
	t.Helper()
	if got := testutil.ToFloat64(c); got != want {
		t.Fatalf("%s = %v, want %v", name, got, want)
	}
}

func waitKeeper(t *testing.T, k *projection.Keeper, complete bool) {
	t.Helper()
	runtest.Eventually(t, 10*time.Second, fmt.Sprintf("Complete() = %v", complete), func() bool { return k.Complete() == complete })
}

// TestKeeper: a new region gets its marker at once; a flushed Redis is
// rebuilt; a Redis that lost its last writes catches up from where it
// is; a failing rebuild is tried again and leaves no marker.
func TestKeeper(t *testing.T) {
	t.Parallel()
	f := newFake(t, 0)
	rdb := f.rdb
	k := f.runKeeper(t)

	waitKeeper(t, k, true)
	if from := <-f.froms; from != 0 {
		t.Fatalf("first rebuild from %d, want 0", from)
	}
	wantMetric(t, "rebuilds{reason=empty}", f.metrics.Rebuilds.WithLabelValues(projection.ReasonEmpty), 1)
	f.wantLog(t, "test projection: not in Redis, and no marker either")
	f.wantLog(t, "test projection: rebuilt from EVENTS")

	// Flushed: rebuilt from scratch once Lost says so.
	f.last.Store(30)
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	k.Lost()
	waitKeeper(t, k, true)
	if from := <-f.froms; from != 0 {
		t.Fatalf("rebuild after FLUSHALL from %d, want 0", from)
	}
	if st := read(t, rdb); st.Seq != 30 {
		t.Fatalf("marker after the rebuild: %+v", st)
	}

	// The floor passes events the service does not consume: nothing lost.
	if err := projection.Note(ctx, rdb, keys, projection.Live(31)); err != nil {
		t.Fatal(err)
	}
	f.floor.Store(32)
	time.Sleep(100 * time.Millisecond) // five looks
	f.wantRebuilds(t, 2, "with the floor past an event not consumed")
	// Redis lost its last writes: the consumer acked 35, Redis holds 32.
	f.last.Store(40)
	f.floor.Store(35)
	if from := <-f.froms; from != 31 {
		t.Fatalf("catch-up from %d, want 31, the last event Redis holds", from)
	}
	waitKeeper(t, k, true)
	wantMetric(t, "rebuilds{reason=behind}", f.metrics.Rebuilds.WithLabelValues(projection.ReasonBehind), 1)
	if st := read(t, rdb); st.Seq != 40 || st.From != 31 || st.Reason != projection.ReasonBehind {
		t.Fatalf("marker after the catch-up: %+v", st)
	}

	// A rebuild that fails twice: no marker until the third attempt.
	f.fail.Store(2)
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	k.Lost()
	<-f.froms
	<-f.froms // the second attempt began: the first failed
	if st := read(t, rdb); st.Complete {
		t.Fatalf("marker while the rebuilds fail: %+v", st)
	}
	waitKeeper(t, k, true)
	wantMetric(t, "failures", f.metrics.Failures, 2)
	wantMetric(t, "rebuilding once complete", f.metrics.Rebuilding, 0)
	f.wantLog(t, "test projection: rebuild from EVENTS failed; trying again")
}

// TestKeepersRebuildOnce: replicas on one flushed Redis; one rebuilds,
// the others wait for it, and take over when it dies.
func TestKeepersRebuildOnce(t *testing.T) {
	t.Parallel()
	f := newFake(t, 300*time.Millisecond)
	rdb := f.rdb
	var ks []*projection.Keeper
	for range 3 {
		ks = append(ks, f.runKeeper(t))
	}
	for _, k := range ks {
		waitKeeper(t, k, true)
	}
	f.wantRebuilds(t, 1, "by 3 replicas")

	// A replica took the lock of a flushed Redis and died: the others
	// wait until its lock expires, then one of them rebuilds. The lock is
	// taken before the rest is flushed, so that no running keeper can
	// take it first.
	if _, _, err := projection.Acquire(ctx, rdb, keys, 400*time.Millisecond, t0, nil); err != nil {
		t.Fatal(err)
	}
	all, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range all {
		if key != keys.Lock {
			if err := rdb.Del(ctx, key).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, k := range ks {
		k.Lost()
	}
	time.Sleep(200 * time.Millisecond)
	for _, k := range ks {
		if k.Complete() {
			t.Fatal("complete while another replica holds the lock")
		}
	}
	f.wantRebuilds(t, 1, "while another replica holds the lock")
	wantMetric(t, "rebuilding while waiting", f.metrics.Rebuilding, 1)
	for _, k := range ks {
		waitKeeper(t, k, true)
	}
	f.wantRebuilds(t, 2, "once the lock expired")
	f.wantLog(t, "test projection: another replica is rebuilding from EVENTS; waiting until it is done")
}

// TestHold: a write that finds the projection incomplete waits for the
// rebuild and is tried again; after the time given it gives up.
func TestHold(t *testing.T) {
	t.Parallel()
	f := newFake(t, 200*time.Millisecond)
	rdb := f.rdb
	k := f.runKeeper(t)
	tries := 0
	err := k.Hold(ctx, 10*time.Second, func() error {
		tries++
		_, err := write(rdb, projection.Live(1), "held")
		return err
	})
	if err != nil || tries < 2 {
		t.Fatalf("Hold: %v after %d tries, want success after waiting", err, tries)
	}
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	f.slow.Store(int64(time.Hour))
	err = k.Hold(ctx, 100*time.Millisecond, func() error {
		_, err := write(rdb, projection.Live(2), "held")
		return err
	})
	if !errors.Is(err, projection.ErrIncomplete) {
		t.Fatalf("Hold during a long rebuild: %v, want ErrIncomplete", err)
	}
}
