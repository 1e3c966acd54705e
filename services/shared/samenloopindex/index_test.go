package samenloopindex_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/samenloopindex"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

var (
	t0     = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	window = 730 * 24 * time.Hour
	ctx    = context.Background()
)

// person returns a pseudonym-shaped person id.
func person(n string) string {
	p, err := events.NewPseudonymizer([]byte("test-key-of-32-bytes-for-tests!!"))
	if err != nil {
		panic(err)
	}
	return p.Pseudonym(n)
}

func sig(partner, id string, at time.Time, seq uint64) samenloopindex.Signal {
	return samenloopindex.Signal{Key: events.MsgID("urn:nld:kvknr:1:systeem:"+partner, id), Partner: partner, At: at, Seq: seq}
}

func newIndex(t *testing.T) *samenloopindex.Index {
	t.Helper()
	ix, err := samenloopindex.New(redistest.Start(t).Client(t), samenloopindex.Config{Window: window})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func add(t *testing.T, ix *samenloopindex.Index, x string, s samenloopindex.Signal, now time.Time) samenloopindex.Outcome {
	t.Helper()
	out, err := ix.Add(ctx, x, s, "zvh", now)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func partners(ss []samenloopindex.Signal) []string {
	var ps []string
	for _, s := range ss {
		ps = append(ps, s.Partner)
	}
	return ps
}

func wantOutcome(t *testing.T, got samenloopindex.Outcome, joined string, others []string, signals []samenloopindex.Signal) {
	t.Helper()
	if got.Joined != joined || !slices.Equal(got.Others, others) {
		t.Fatalf("joined %q with %v, want %q with %v", got.Joined, got.Others, joined, others)
	}
	if !slices.Equal(got.Signals, signals) {
		t.Fatalf("signals %+v,\nwant %+v", got.Signals, signals)
	}
}

func TestJoining(t *testing.T) {
	t.Parallel()
	ix := newIndex(t)
	x := person("999993653")
	politie := sig("politie", "s1", t0, 1)
	wantOutcome(t, add(t, ix, x, politie, t0), "", nil, nil)

	ggz := sig("ggz", "s2", t0.Add(time.Hour), 2)
	wantOutcome(t, add(t, ix, x, ggz, t0.Add(time.Hour)), "ggz", []string{"politie"}, []samenloopindex.Signal{politie, ggz})

	// The same partner again: nothing to tell.
	politie2 := sig("politie", "s3", t0.Add(2*time.Hour), 3)
	wantOutcome(t, add(t, ix, x, politie2, t0.Add(2*time.Hour)), "", nil, nil)

	// A third partner joins the two, and only it is new.
	wijkteam := sig("wijkteam", "s4", t0.Add(3*time.Hour), 4)
	wantOutcome(t, add(t, ix, x, wijkteam, t0.Add(3*time.Hour)), "wijkteam", []string{"politie", "ggz"},
		[]samenloopindex.Signal{politie, ggz, politie2, wijkteam})

	signals, members, err := ix.Person(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(members, []string{"politie", "ggz", "wijkteam"}) || len(signals) != 4 {
		t.Fatalf("person holds %v with members %v", partners(signals), members)
	}

	// Another person is another matter.
	wantOutcome(t, add(t, ix, person("999996629"), sig("ggz", "s5", t0, 5), t0), "", nil, nil)
}

func TestAddAgainReturnsTheFirstOutcome(t *testing.T) {
	t.Parallel()
	ix := newIndex(t)
	x := person("999993653")
	a, b, c := sig("politie", "s1", t0, 1), sig("ggz", "s2", t0, 2), sig("wijkteam", "s3", t0, 3)
	add(t, ix, x, a, t0)
	first := add(t, ix, x, b, t0)
	add(t, ix, x, c, t0)
	// Redelivered after c joined: b's outcome is what it was.
	again := add(t, ix, x, b, t0.Add(time.Minute))
	wantOutcome(t, again, "ggz", []string{"politie"}, []samenloopindex.Signal{a, b})
	if first.Joined != again.Joined || !slices.Equal(first.Others, again.Others) {
		t.Fatalf("first %+v, again %+v", first, again)
	}
	wantOutcome(t, add(t, ix, x, a, t0), "", nil, nil)
}

func TestWindow(t *testing.T) {
	t.Parallel()
	ix := newIndex(t)
	x := person("999993653")
	add(t, ix, x, sig("politie", "s1", t0, 1), t0)

	// One millisecond before the window passes the signaal still counts …
	late := t0.Add(window - time.Millisecond)
	wantOutcome(t, add(t, ix, person("999996629"), sig("politie", "s9", late, 9), late), "", nil, nil)
	if out := add(t, ix, x, sig("ggz", "s2", late, 2), late); out.Joined != "ggz" {
		t.Fatalf("within the window: %+v", out)
	}

	// … and once it passed, it does not.
	y := person("999990019")
	add(t, ix, y, sig("politie", "s3", t0, 3), t0)
	after := t0.Add(window)
	wantOutcome(t, add(t, ix, y, sig("ggz", "s4", after, 4), after), "", nil, nil)

	// A signaal older than the window is not recorded at all.
	z := person("999990032")
	add(t, ix, z, sig("politie", "s5", t0, 5), after)
	if signals, _, _ := ix.Person(ctx, z); len(signals) != 0 {
		t.Fatalf("a signaal outside the window was recorded: %+v", signals)
	}
}

func TestExpire(t *testing.T) {
	t.Parallel()
	ix := newIndex(t)
	for i, n := range []string{"999993653", "999996629", "999990019"} {
		add(t, ix, person(n), sig("politie", n, t0.Add(time.Duration(i)*time.Hour), uint64(i)), t0)
	}
	add(t, ix, person("999993653"), sig("ggz", "later", t0.Add(48*time.Hour), 9), t0)
	if n, _ := ix.Persons(ctx); n != 3 {
		t.Fatalf("persons %d, want 3", n)
	}

	dropped, err := ix.Expire(ctx, t0.Add(window+90*time.Minute), 1)
	if err != nil {
		t.Fatal(err)
	}
	if dropped != 2 {
		t.Fatalf("dropped %d signalen, want 2 (the first two politie signalen)", dropped)
	}
	if n, _ := ix.Persons(ctx); n != 2 {
		t.Fatalf("persons %d, want 2", n)
	}
	signals, members, _ := ix.Person(ctx, person("999993653"))
	if !slices.Equal(partners(signals), []string{"ggz"}) || members != nil {
		t.Fatalf("left %v with members %v, want [ggz] and no samenloop", partners(signals), members)
	}
	dropped, _ = ix.Expire(ctx, t0.Add(window+72*time.Hour), 100)
	if n, _ := ix.Persons(ctx); dropped != 2 || n != 0 {
		t.Fatalf("dropped %d, %d persons left; want 2 and 0", dropped, n)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	ix := newIndex(t)
	x := person("999993653")
	a, b := sig("politie", "s1", t0, 1), sig("ggz", "s2", t0, 2)
	add(t, ix, x, a, t0)
	add(t, ix, x, b, t0)

	for _, tc := range []struct {
		by   string
		want samenloopindex.Removal
	}{{"ggz", samenloopindex.NotAllowed}, {"wijkteam", samenloopindex.NotAllowed}, {"politie", samenloopindex.Removed}, {"politie", samenloopindex.Unknown}} {
		got, err := ix.Remove(ctx, a.Key, tc.by, "zvh", t0)
		if err != nil || got != tc.want {
			t.Fatalf("remove by %s: %v %v, want %v", tc.by, got, err, tc.want)
		}
	}
	// Politie left, so the samenloop ended; signalling again joins anew.
	if _, members, _ := ix.Person(ctx, x); members != nil {
		t.Fatalf("members %v after politie left", members)
	}
	c := sig("politie", "s3", t0.Add(time.Hour), 3)
	wantOutcome(t, add(t, ix, x, c, t0.Add(time.Hour)), "politie", []string{"ggz"}, []samenloopindex.Signal{b, c})

	// The regievoerder may remove any signaal.
	if got, _ := ix.Remove(ctx, b.Key, "zvh", "zvh", t0); got != samenloopindex.Removed {
		t.Fatalf("regievoerder remove: %v", got)
	}
}

func TestRemoveBeforeAdd(t *testing.T) {
	t.Parallel()
	ix := newIndex(t)
	x := person("999993653")
	a := sig("politie", "s1", t0, 1)
	if got, err := ix.Remove(ctx, a.Key, "politie", "zvh", t0); err != nil || got != samenloopindex.Unknown {
		t.Fatalf("remove unknown: %v %v", got, err)
	}
	add(t, ix, x, a, t0)
	if signals, _, _ := ix.Person(ctx, x); len(signals) != 0 {
		t.Fatalf("a signaal removed before it came was recorded")
	}
	// A removal by someone else does not count.
	b := sig("ggz", "s2", t0, 2)
	ix.Remove(ctx, b.Key, "politie", "zvh", t0)
	add(t, ix, x, b, t0)
	if signals, _, _ := ix.Person(ctx, x); len(signals) != 1 {
		t.Fatalf("signals %v, want ggz's", signals)
	}
}

func TestClear(t *testing.T) {
	t.Parallel()
	ix := newIndex(t)
	x := person("999993653")
	add(t, ix, x, sig("politie", "s1", t0, 1), t0)
	add(t, ix, x, sig("ggz", "s2", t0, 2), t0)
	if err := ix.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := ix.Persons(ctx); n != 0 {
		t.Fatalf("%d persons after Clear", n)
	}
	if out := add(t, ix, x, sig("ggz", "s2", t0, 2), t0); out.Joined != "" {
		t.Fatalf("after Clear: %+v", out)
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	ix := newIndex(t)
	good := sig("politie", "s1", t0, 1)
	for name, f := range map[string]func() error{
		"bsn as person": func() error { _, err := ix.Add(ctx, "999993653", good, "zvh", t0); return err },
		"upper hex":     func() error { _, err := ix.Add(ctx, strings.ToUpper(person("1")), good, "zvh", t0); return err },
		"bad key": func() error {
			s := good
			s.Key = "k"
			_, err := ix.Add(ctx, person("1"), s, "zvh", t0)
			return err
		},
		"bad partner": func() error {
			s := good
			s.Partner = "Politie"
			_, err := ix.Add(ctx, person("1"), s, "zvh", t0)
			return err
		},
		"no time": func() error {
			s := good
			s.At = time.Time{}
			_, err := ix.Add(ctx, person("1"), s, "zvh", t0)
			return err
		},
		"remove bad key": func() error { _, err := ix.Remove(ctx, "xyz", "politie", "zvh", t0); return err },
	} {
		err := f()
		if !errors.Is(err, samenloopindex.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "999993653") {
			t.Errorf("%s: error repeats the input: %v", name, err)
		}
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ix, _ := samenloopindex.New(srv.Client(t), samenloopindex.Config{})
	srv.Stop()
	_, err := ix.Add(ctx, person("1"), sig("politie", "s1", t0, 1), "zvh", t0)
	if !errors.Is(err, samenloopindex.ErrUnavailable) {
		t.Fatalf("Add with Redis stopped: %v, want ErrUnavailable", err)
	}
}

// TestSamenlopen counts persons with signalen of two partners or more,
// across more than one page of persons.
func TestSamenlopen(t *testing.T) {
	ix := newIndex(t)
	for i := range 2100 {
		x := person(fmt.Sprint(i))
		add(t, ix, x, sig("politie", fmt.Sprint("p", i), t0, uint64(i)), t0)
		if i%3 == 0 {
			add(t, ix, x, sig("ggz", fmt.Sprint("g", i), t0, uint64(i)), t0)
		}
		if i%5 == 0 {
			add(t, ix, x, sig("politie", fmt.Sprint("p2-", i), t0, uint64(i)), t0)
		}
	}
	n, err := ix.Samenlopen(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 700 {
		t.Errorf("Samenlopen = %d, want 700 (every third person)", n)
	}

	// A samenloop ends when ggz removes its signaal, and when the window
	// of every signaal has passed.
	ggz0 := sig("ggz", "g0", t0, 0)
	if r, err := ix.Remove(ctx, ggz0.Key, "ggz", "zvh", t0.Add(time.Hour)); err != nil || r != samenloopindex.Removed {
		t.Fatalf("Remove = %v, %v", r, err)
	}
	if n, err := ix.Samenlopen(ctx); err != nil || n != 699 {
		t.Errorf("Samenlopen after a removal = %d, %v; want 699", n, err)
	}
	if _, err := ix.Expire(ctx, t0.Add(window), 1000); err != nil {
		t.Fatal(err)
	}
	if n, err := ix.Samenlopen(ctx); err != nil || n != 0 {
		t.Errorf("Samenlopen after every window passed = %d, %v; want 0", n, err)
	}
}
