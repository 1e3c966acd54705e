package samenloopindex_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/samenloopindex"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

// TestGuardedWrites: a live writer's writes fail while the index is not
// complete and skip the events a rebuild applied; a rebuild's writes land
// only while it holds its lock; Clear keeps the lock.
func TestGuardedWrites(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t).Client(t)
	ix, err := samenloopindex.New(rdb, samenloopindex.Config{Window: window})
	if err != nil {
		t.Fatal(err)
	}
	x := person("a")
	p1, g1 := sig("politie", "p-1", t0, 4), sig("ggz", "g-1", t0, 6)

	if _, err := ix.For(projection.Live(4)).Add(ctx, x, p1, "zvh", t0); !errors.Is(err, projection.ErrIncomplete) {
		t.Fatalf("Add without a marker: %v, want ErrIncomplete", err)
	}
	if _, err := ix.For(projection.Live(0)).Expire(ctx, t0, 10); !errors.Is(err, projection.ErrIncomplete) {
		t.Fatalf("Expire without a marker: %v, want ErrIncomplete", err)
	}
	if _, err := ix.For(projection.Live(7)).Remove(ctx, p1.Key, "politie", "zvh", t0); !errors.Is(err, projection.ErrIncomplete) {
		t.Fatalf("Remove without a marker: %v, want ErrIncomplete", err)
	}

	// A rebuild applies p-1 (sequence 4), up to sequence 5.
	l, _, err := projection.Acquire(ctx, rdb, ix.Projection(), time.Minute, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := projection.Build(ctx, l, time.Minute, time.Now, func(_ context.Context, w projection.Writer) (projection.Marker, error) {
		if err := ix.For(w).Clear(ctx); err != nil {
			return projection.Marker{}, err
		}
		_, err := ix.For(w).Add(ctx, x, p1, "zvh", t0)
		return projection.Marker{Seq: 5}, err
	}); err != nil {
		t.Fatal(err)
	}
	// The consumer gets p-1 again: skipped, no Outcome; then g-1: joins.
	if out, err := ix.For(projection.Live(4)).Add(ctx, x, p1, "zvh", t0); err != nil || out.Joined != "" {
		t.Fatalf("live Add of what the rebuild applied: %+v, %v; want skipped", out, err)
	}
	out, err := ix.For(projection.Live(6)).Add(ctx, x, g1, "zvh", t0)
	if err != nil || out.Joined != "ggz" {
		t.Fatalf("live Add after the rebuild: %+v, %v; want ggz joining", out, err)
	}
	if r, err := ix.For(projection.Live(5)).Remove(ctx, p1.Key, "politie", "zvh", t0); r != samenloopindex.Unknown || err != nil {
		t.Fatalf("live Remove for an event the rebuild applied: %v, %v; want skipped", r, err)
	}
	if st, _ := projection.Read(ctx, rdb, ix.Projection()); st.Seq != 5 || st.Applied != 6 {
		t.Fatalf("marker %+v, want seq 5 applied 6", st)
	}

	// A rebuild that lost its lock writes nothing.
	l, _, err = projection.Acquire(ctx, rdb, ix.Projection(), time.Minute, t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ix.For(l.Writer()).Clear(ctx); !errors.Is(err, projection.ErrFenced) {
		t.Fatalf("Clear by a rebuild without its lock: %v, want ErrFenced", err)
	}
	if signals, _, err := ix.Person(ctx, x); err != nil || len(signals) != 2 {
		t.Fatalf("the person has %d signalen (%v), want both", len(signals), err)
	}
}
