package timers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// markComplete marks the timers of s complete up to EVENTS sequence seq,
// as a rebuild does.
func markComplete(t *testing.T, s *timers.Store, rdb redis.UniversalClient, seq uint64) {
	t.Helper()
	ctx := context.Background()
	l, _, err := projection.Acquire(ctx, rdb, s.Projection(), time.Minute, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := projection.Build(ctx, l, time.Minute, time.Now, func(context.Context, projection.Writer) (projection.Marker, error) {
		return projection.Marker{Seq: seq}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestGuardedWrites: a live writer's writes fail while the timers are not
// complete and skip the events a rebuild applied; a rebuild's writes land
// only while it holds its lock; Clear keeps the lock.
func TestGuardedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, s := startStore(t, timers.Config{})
	a, b := aanmelding(1, t0), aanmelding(2, t0)

	live := s.For(projection.Live(3))
	for name, err := range map[string]error{
		"Schedule": live.Schedule(ctx, a),
		"Remember": live.Remember(ctx, a.ID, "ggz:opgepakt", time.Hour),
		"Note":     live.Note(ctx),
		"Claim":    func() error { _, err := s.For(projection.Live(0)).Claim(ctx, t0, 10); return err }(),
		"Cancel":   func() error { _, err := live.Cancel(ctx, a.ID); return err }(),
	} {
		if !errors.Is(err, projection.ErrIncomplete) {
			t.Errorf("%s without a marker: %v, want ErrIncomplete", name, err)
		}
	}
	if n, _ := s.Pending(ctx); n != 0 {
		t.Fatalf("%d timers stored by refused writes", n)
	}

	markComplete(t, s, rdb, 5)
	if err := s.For(projection.Live(5)).Schedule(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, a.ID); ok {
		t.Error("a live write for an event the rebuild applied was stored")
	}
	if err := s.For(projection.Live(6)).Schedule(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, a.ID); !ok {
		t.Error("a live write for a later event was not stored")
	}
	if ok, err := s.For(projection.Live(4)).Cancel(ctx, a.ID); ok || err != nil {
		t.Errorf("Cancel for an event the rebuild applied: %v, %v; want skipped", ok, err)
	}
	claimed, err := s.For(projection.Live(0)).Claim(ctx, t0, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("Claim with the marker: %d timers, %v", len(claimed), err)
	}

	l, _, err := projection.Acquire(ctx, rdb, s.Projection(), time.Minute, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	build := s.For(l.Writer())
	if err := build.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := projection.Read(ctx, rdb, s.Projection()); err != nil || !st.Rebuilding || st.HasData {
		t.Fatalf("after the rebuild's Clear: %+v, %v; want the lock kept, the timers gone", st, err)
	}
	if err := build.Schedule(ctx, b); err != nil {
		t.Fatalf("the rebuild's Schedule: %v", err)
	}
	if _, err := s.For(projection.Live(9)).Cancel(ctx, b.ID); !errors.Is(err, projection.ErrIncomplete) {
		t.Errorf("a live Cancel during the rebuild: %v, want ErrIncomplete", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := build.ScheduleMany(ctx, []timers.Timer{a}); !errors.Is(err, projection.ErrFenced) {
		t.Errorf("the rebuild's ScheduleMany after its lock went: %v, want ErrFenced", err)
	}
	if _, err := build.Advance(ctx, b, b); !errors.Is(err, projection.ErrFenced) {
		t.Errorf("the rebuild's Advance after its lock went: %v, want ErrFenced", err)
	}
}
