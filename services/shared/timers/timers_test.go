package timers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// t0 is the test clock's start: a Friday afternoon in Amsterdam.
var t0 = time.Date(2026, 4, 3, 15, 4, 5, 0, time.UTC)

const prefix = "ketenbus:timers:"

// newStore returns a Store on rdb with cfg (defaults where zero).
func newStore(tb testing.TB, rdb redis.UniversalClient, cfg timers.Config) *timers.Store {
	tb.Helper()
	s, err := timers.New(rdb, cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// startStore starts a redis-server and returns a client of it and a
// Store on it with cfg.
func startStore(tb testing.TB, cfg timers.Config) (*redis.Client, *timers.Store) {
	tb.Helper()
	rdb := redistest.Start(tb).Client(tb)
	return rdb, newStore(tb, rdb, cfg)
}

// startScheduled is startStore's Store with aanmelding 1, due at t0,
// scheduled on it.
func startScheduled(tb testing.TB, cfg timers.Config) (*timers.Store, timers.Timer) {
	tb.Helper()
	_, s := startStore(tb, cfg)
	tm := aanmelding(1, t0)
	schedule(tb, s, tm)
	return s, tm
}

// schedule schedules tms on s in turn and fails the test on an error.
func schedule(tb testing.TB, s *timers.Store, tms ...timers.Timer) {
	tb.Helper()
	for _, tm := range tms {
		if err := s.Schedule(tb.Context(), tm); err != nil {
			tb.Fatal(err)
		}
	}
}

// aanmelding returns a realistic timer number i, due at due.
func aanmelding(i int, due time.Time) timers.Timer {
	source := "urn:ketenbus:partner:gemeente-" + strconv.Itoa(i%7)
	id := uuid.NewSHA1(uuid.NameSpaceOID, []byte(strconv.Itoa(i))).String()
	subject := sha256.Sum256([]byte("person-" + strconv.Itoa(i)))
	return timers.Timer{
		ID:        events.MsgID(source, id),
		Kind:      "aanmelding",
		Betreft:   timers.Ref{Source: source, ID: id, Type: events.TypeAanmelding},
		Subject:   hex.EncodeToString(subject[:]),
		Ontvanger: "wijkteam-" + strconv.Itoa(i%5),
		Sender:    "gemeente-" + strconv.Itoa(i%7),
		Level:     1,
		Reden:     string(events.RedenTermijnVerstreken),
		Termijn:   due.Add(-72 * time.Hour),
		Due:       due,
	}
}

// overdracht returns a Jeugd→Wmo timer number i, due at due: its anchor
// is an 18th birthday three months later, its acceptance term a month
// before that, both at midnight in Amsterdam.
func overdracht(i int, due time.Time) timers.Timer {
	t := aanmelding(i, due)
	t.Kind = "overdracht"
	t.Betreft.Type = events.TypeOverdrachtJeugdWmo
	t.Level = 0
	t.Reden = string(events.RedenHerinnering18)
	y, m, d := due.In(amsterdam).AddDate(0, 3, 0).Date()
	t.Anchor = time.Date(y, m, d, 0, 0, 0, 0, amsterdam)
	t.Termijn = t.Anchor.AddDate(0, -1, 0)
	return t
}

var amsterdam = func() *time.Location {
	l, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return l
}()

// diff describes how got differs from want; times compare as instants.
func diff(got, want timers.Timer) string {
	var d []string
	if got.ID != strings.ToLower(want.ID) {
		d = append(d, fmt.Sprintf("ID %q, want %q", got.ID, strings.ToLower(want.ID)))
	}
	g, w := got, want
	g.ID, w.ID = "", ""
	g.Termijn, g.Due, g.Anchor = time.Time{}, time.Time{}, time.Time{}
	w.Termijn, w.Due, w.Anchor = time.Time{}, time.Time{}, time.Time{}
	if g != w {
		d = append(d, fmt.Sprintf("fields %+v, want %+v", g, w))
	}
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{{"Termijn", got.Termijn, want.Termijn}, {"Due", got.Due, want.Due}, {"Anchor", got.Anchor, want.Anchor}} {
		if !c.got.Equal(c.want) || c.got.IsZero() != c.want.IsZero() {
			d = append(d, fmt.Sprintf("%s %v, want %v", c.name, c.got, c.want))
		}
	}
	return strings.Join(d, "; ")
}

func TestScheduleGetRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		timer timers.Timer
	}{
		{"aanmelding", aanmelding(1, t0)},
		{"overdracht with anchor", overdracht(2, t0)},
		{"local times", func() timers.Timer {
			t := overdracht(3, t0.In(amsterdam))
			t.Termijn = time.Date(2026, 4, 10, 23, 59, 59, 999999999, amsterdam)
			t.Anchor = time.Date(2030, 3, 1, 0, 0, 0, 0, amsterdam)
			return t
		}()},
		{"nanoseconds", func() timers.Timer {
			t := aanmelding(4, t0.Add(123456789*time.Nanosecond))
			t.Termijn = t0.Add(-time.Nanosecond)
			return t
		}()},
		{"zero termijn", func() timers.Timer { t := aanmelding(5, t0); t.Termijn = time.Time{}; return t }()},
		{"before 1970", func() timers.Timer {
			t := overdracht(6, t0)
			t.Anchor = time.Date(1969, 12, 31, 23, 59, 59, 5, time.UTC)
			return t
		}()},
		{"uppercase id", func() timers.Timer { t := aanmelding(7, t0); t.ID = strings.ToUpper(t.ID); return t }()},
		{"free-form subject and id", func() timers.Timer {
			t := aanmelding(8, t0)
			t.Subject = strings.ToUpper(t.Subject)
			t.Betreft.ID = "ULID-01J0ZX4S4H9Z2C6XK1M8Q3W7RT"
			return t
		}()},
		{"uppercase uuid", func() timers.Timer {
			t := aanmelding(9, t0)
			t.Betreft.ID = strings.ToUpper(t.Betreft.ID)
			return t
		}()},
		{"empty texts", timers.Timer{ID: strings.Repeat("0", 32), Due: t0}},
		{"longer than a hash value", func() timers.Timer {
			t := overdracht(12, t0)
			t.Subject = strings.Repeat("pseudoniem-", 40)
			t.Betreft.ID = strings.Repeat("id", 100)
			return t
		}()},
		{"high level", func() timers.Timer { t := aanmelding(10, t0); t.Level = 100000; return t }()},
		{"unicode", func() timers.Timer { t := aanmelding(11, t0); t.Ontvanger = "wijkteam-zuidoost-ĳsselmonde"; return t }()},
	}
	_, s := startStore(t, timers.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			if err := s.Schedule(ctx, tt.timer); err != nil {
				t.Fatalf("Schedule: %v", err)
			}
			got, ok, err := s.Get(ctx, tt.timer.ID)
			if err != nil || !ok {
				t.Fatalf("Get = %v, %v", ok, err)
			}
			if d := diff(got, tt.timer); d != "" {
				t.Errorf("Get after Schedule: %s", d)
			}
			if got.Due.Location() != time.UTC {
				t.Errorf("Due comes back in %v, want UTC", got.Due.Location())
			}
		})
	}
}

func TestScheduleReplacesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, s := startStore(t, timers.Config{})
	tm := aanmelding(1, t0)
	for range 3 {
		schedule(t, s, tm)
	}
	next := tm
	next.Level, next.Reden, next.Ontvanger, next.Due = 2, string(events.RedenGeweigerd), "wijkteam-west", t0.Add(time.Hour)
	schedule(t, s, next)
	if n, err := s.Pending(ctx); err != nil || n != 1 {
		t.Fatalf("Pending = %d, %v; want 1", n, err)
	}
	got, _, err := s.Get(ctx, tm.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(got, next); d != "" {
		t.Errorf("after replacing: %s", d)
	}
	if _, ok, err := s.Get(ctx, aanmelding(2, t0).ID); ok || err != nil {
		t.Errorf("Get of an unknown id = %v, %v; want false, nil", ok, err)
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	_, s := startStore(t, timers.Config{})
	good := aanmelding(1, t0)
	tests := []struct {
		name string
		op   func(ctx context.Context) error
	}{
		{"short id", func(ctx context.Context) error { t := good; t.ID = "abc"; return s.Schedule(ctx, t) }},
		{"non-hex id", func(ctx context.Context) error { t := good; t.ID = strings.Repeat("g", 32); return s.Schedule(ctx, t) }},
		{"negative level", func(ctx context.Context) error { t := good; t.Level = -1; return s.Schedule(ctx, t) }},
		{"NUL in a text", func(ctx context.Context) error { t := good; t.Sender = "a\x00b"; return s.Schedule(ctx, t) }},
		{"many with one bad", func(ctx context.Context) error {
			t := good
			t.ID = "x"
			return s.ScheduleMany(ctx, []timers.Timer{good, t})
		}},
		{"get", func(ctx context.Context) error { _, _, err := s.Get(ctx, "nope"); return err }},
		{"claim max 0", func(ctx context.Context) error { _, err := s.Claim(ctx, t0, 0); return err }},
		{"list count 0", func(ctx context.Context) error { _, _, err := s.List(ctx, 0, 0); return err }},
		{"remember", func(ctx context.Context) error { return s.Remember(ctx, "nope", "x", time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.op(t.Context())
			if !errors.Is(err, timers.ErrInvalid) || errors.Is(err, timers.ErrUnavailable) {
				t.Errorf("err = %v; want one wrapping ErrInvalid only", err)
			}
		})
	}
	if n, err := s.Pending(t.Context()); err != nil || n != 0 {
		t.Errorf("Pending after invalid calls = %d, %v; want 0 (ScheduleMany stores nothing when one timer is invalid)", n, err)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	if _, err := timers.New(nil, timers.Config{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := timers.New(srv.Client(t), timers.Config{Lease: time.Microsecond}); err == nil || !strings.Contains(err.Error(), "lease") {
		t.Errorf("New with a 1µs lease: %v; want an error naming the lease", err)
	}
}

func ids(ts []timers.Timer) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func TestClaim(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const lease = 30 * time.Second
	_, s := startStore(t, timers.Config{Lease: lease})
	// Due in scrambled order: 3 in the past, one exactly now, 2 in the future.
	offsets := []time.Duration{-time.Minute, time.Second, -time.Hour, 0, -time.Millisecond, time.Hour}
	var all []timers.Timer
	for i, off := range offsets {
		all = append(all, aanmelding(i, t0.Add(off)))
	}
	if err := s.ScheduleMany(ctx, all); err != nil {
		t.Fatal(err)
	}
	wantOrder := []string{all[2].ID, all[0].ID, all[4].ID, all[3].ID} // due ones, in due order

	first, err := s.Claim(ctx, t0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(first); fmt.Sprint(got) != fmt.Sprint(wantOrder[:3]) {
		t.Fatalf("first Claim(max 3) = %v, want %v", got, wantOrder[:3])
	}
	if d := diff(first[0], all[2]); d != "" {
		t.Errorf("claimed timer differs from the scheduled one (Due must stay as scheduled): %s", d)
	}
	second, err := s.Claim(ctx, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(second); fmt.Sprint(got) != fmt.Sprint(wantOrder[3:]) {
		t.Fatalf("second Claim = %v, want %v", got, wantOrder[3:])
	}
	within := []struct {
		at   time.Duration
		want []string
	}{
		{time.Millisecond, nil},
		{lease / 2, []string{all[1].ID}}, // due at t0+1s: claimed once
		{lease - time.Millisecond, nil},
	}
	for _, w := range within {
		got, err := s.Claim(ctx, t0.Add(w.at), 10)
		if err != nil || fmt.Sprint(ids(got)) != fmt.Sprint(w.want) {
			t.Fatalf("Claim at t0+%v within the lease = %v, %v; want %v", w.at, ids(got), err, w.want)
		}
	}
	// All four leases end at t0+lease.
	back, err := s.Claim(ctx, t0.Add(lease), 10)
	if err != nil {
		t.Fatal(err)
	}
	got, want := ids(back), wantOrder[:4]
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Claim when the lease ends = %v, want %v back", got, want)
	}
	if n, err := s.Pending(ctx); err != nil || n != int64(len(all)) {
		t.Errorf("Pending = %d, %v; claiming removes nothing", n, err)
	}
}

func TestClaimLeaseSequence(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const lease = 10 * time.Second
	s, _ := startScheduled(t, timers.Config{Lease: lease})
	steps := []struct {
		at   time.Duration
		want int
	}{
		{-time.Millisecond, 0}, // not yet due
		{0, 1},                 // due: claimed, leased until t0+10s
		{0, 0},
		{lease - time.Millisecond, 0},
		{lease, 1}, // lease over: back, leased until t0+20s
		{lease + time.Second, 0},
		{2 * lease, 1},
	}
	for _, st := range steps {
		got, err := s.Claim(ctx, t0.Add(st.at), 10)
		if err != nil || len(got) != st.want {
			t.Fatalf("Claim at t0%+v = %d timers, %v; want %d", st.at, len(got), err, st.want)
		}
	}
}

func TestAdvanceFinish(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	nextOf := func(tm timers.Timer) timers.Timer {
		tm.Level++
		tm.Reden = string(events.RedenTermijnVerstreken)
		tm.Termijn = tm.Due
		tm.Due = tm.Due.Add(48 * time.Hour)
		return tm
	}
	type op func(ctx context.Context, s *timers.Store, tm timers.Timer) (bool, error)
	advance := func(ctx context.Context, s *timers.Store, tm timers.Timer) (bool, error) {
		return s.Advance(ctx, nextOf(tm), tm)
	}
	finish := func(ctx context.Context, s *timers.Store, tm timers.Timer) (bool, error) {
		return s.Finish(ctx, tm)
	}
	cancel := func(ctx context.Context, s *timers.Store, tm timers.Timer) (bool, error) {
		return s.Cancel(ctx, tm.ID)
	}
	tests := []struct {
		name    string
		between op // after Claim; its result is not looked at
		op      op
		want    bool
		// wantLevel is the stored level afterwards; -1: no timer.
		wantLevel int
	}{
		{name: "advance", op: advance, want: true, wantLevel: 2},
		{name: "cancel then advance resurrects nothing", between: cancel, op: advance, want: false, wantLevel: -1},
		{name: "another replica advanced first", between: advance, op: advance, want: false, wantLevel: 2},
		{
			name: "advance from a wrong level",
			op: func(ctx context.Context, s *timers.Store, tm timers.Timer) (bool, error) {
				return s.Advance(ctx, nextOf(tm), withLevel(tm, tm.Level+1))
			},
			want:      false,
			wantLevel: 1,
		},
		{
			name: "a schedule in between (geweigerd: escalate at once) wins",
			between: func(ctx context.Context, s *timers.Store, tm timers.Timer) (bool, error) {
				declined := tm
				declined.Reden = string(events.RedenGeweigerd)
				declined.Due = tm.Due.Add(-time.Hour)
				return true, s.Schedule(ctx, declined)
			},
			op:        advance,
			want:      false,
			wantLevel: 1,
		},
		{name: "finish", op: finish, want: true, wantLevel: -1},
		{name: "finish twice", between: finish, op: finish, want: false, wantLevel: -1},
		{name: "cancel then finish", between: cancel, op: finish, want: false, wantLevel: -1},
		{name: "finish after another replica advanced", between: advance, op: finish, want: false, wantLevel: 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			// Each subtest has its own prefix: its claims see only its timer.
			s := newStore(t, rdb, timers.Config{Prefix: fmt.Sprintf("advance-%d:", i), Lease: time.Minute})
			tm := aanmelding(i, t0)
			schedule(t, s, tm)
			claimed, err := s.Claim(ctx, tm.Due, 1)
			if err != nil || len(claimed) != 1 || claimed[0].ID != tm.ID {
				t.Fatalf("Claim = %v, %v", ids(claimed), err)
			}
			if tt.between != nil {
				if _, err := tt.between(ctx, s, claimed[0]); err != nil {
					t.Fatal(err)
				}
			}
			got, err := tt.op(ctx, s, claimed[0])
			if err != nil || got != tt.want {
				t.Fatalf("op = %v, %v; want %v", got, err, tt.want)
			}
			stored, ok, err := s.Get(ctx, tm.ID)
			switch {
			case err != nil:
				t.Fatal(err)
			case tt.wantLevel < 0 && ok:
				t.Errorf("timer exists afterwards at level %d; want none", stored.Level)
			case tt.wantLevel >= 0 && (!ok || stored.Level != tt.wantLevel):
				t.Errorf("stored timer = %v at level %d; want level %d", ok, stored.Level, tt.wantLevel)
			}
		})
	}
}

func TestAdvanceEndsTheLease(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tm := startScheduled(t, timers.Config{Lease: time.Hour})
	if _, err := s.Claim(ctx, t0, 1); err != nil {
		t.Fatal(err)
	}
	next := tm
	next.Level, next.Due = 2, t0.Add(time.Minute)
	if ok, err := s.Advance(ctx, next, tm); !ok || err != nil {
		t.Fatalf("Advance = %v, %v", ok, err)
	}
	got, err := s.Claim(ctx, t0.Add(time.Minute), 10)
	if err != nil || len(got) != 1 || got[0].Level != 2 {
		t.Fatalf("Claim at the new due time = %+v, %v; want the timer at level 2", got, err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, tm := startScheduled(t, timers.Config{})
	for _, want := range []bool{true, false} {
		if got, err := s.Cancel(ctx, tm.ID); err != nil || got != want {
			t.Errorf("Cancel = %v, %v; want %v", got, err, want)
		}
	}
	if got, err := s.Claim(ctx, t0.Add(time.Hour), 10); err != nil || len(got) != 0 {
		t.Errorf("Claim after Cancel = %v, %v; want nothing", ids(got), err)
	}
}

func TestRemember(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rdb, s := startStore(t, timers.Config{})
	short, long := aanmelding(1, t0).ID, aanmelding(2, t0).ID
	if _, ok, err := s.Remembered(ctx, short); ok || err != nil {
		t.Fatalf("Remembered before Remember = %v, %v", ok, err)
	}
	if err := s.Remember(ctx, short, "wijkteam-1:opgepakt", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Remember(ctx, long, "wijkteam-2:geweigerd", 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id     string
		wait   time.Duration
		want   string
		wantOK bool
	}{
		{short, 0, "wijkteam-1:opgepakt", true},
		{long, 0, "wijkteam-2:geweigerd", true},
		{short, 500 * time.Millisecond, "", false},
		{long, 0, "wijkteam-2:geweigerd", true},
	}
	for _, tt := range tests {
		time.Sleep(tt.wait)
		got, ok, err := s.Remembered(ctx, tt.id)
		if err != nil || ok != tt.wantOK || got != tt.want {
			t.Errorf("Remembered(%s) after %v = %q, %v, %v; want %q, %v", tt.id[:6], tt.wait, got, ok, err, tt.want, tt.wantOK)
		}
	}
	if ttl, err := rdb.TTL(ctx, prefix+"r:"+long).Result(); err != nil || ttl != -1 {
		t.Errorf("TTL of a Remember with ttl 0 = %v, %v; want none", ttl, err)
	}
}

func TestListAndClear(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rdb, s := startStore(t, timers.Config{})
	other := newStore(t, rdb, timers.Config{Prefix: "other*[x]:"})
	var all []timers.Timer
	for i := range 25 {
		all = append(all, aanmelding(i, t0.Add(time.Duration(25-i)*time.Minute)))
	}
	if err := s.ScheduleMany(ctx, all); err != nil {
		t.Fatal(err)
	}
	schedule(t, other, all[0])
	if err := s.Remember(ctx, all[0].ID, "x", time.Hour); err != nil {
		t.Fatal(err)
	}
	var listed []timers.Timer
	cursor, pages := int64(0), 0
	for {
		page, next, err := s.List(ctx, cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page...)
		pages++
		if next == 0 {
			break
		}
		cursor = next
	}
	if len(listed) != 25 || pages != 3 {
		t.Fatalf("List gave %d timers in %d pages; want 25 in 3", len(listed), pages)
	}
	for i, tm := range listed {
		if d := diff(tm, all[24-i]); d != "" {
			t.Fatalf("listed[%d] (due order): %s", i, d)
		}
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, "ketenbus:*").Result()
	if err != nil || len(keys) != 0 {
		t.Errorf("keys after Clear = %q, %v; want none", keys, err)
	}
	if n, err := other.Pending(ctx); err != nil || n != 1 {
		t.Errorf("Pending of another prefix after Clear = %d, %v; want 1", n, err)
	}
	// Profiles are assigned anew after Clear.
	schedule(t, s, all[3])
	if got, ok, err := s.Get(ctx, all[3].ID); err != nil || !ok || diff(got, all[3]) != "" {
		t.Errorf("Get after Clear and Schedule = %v, %v: %s", ok, err, diff(got, all[3]))
	}
}

func TestScheduleManyAfterScriptFlush(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rdb, s := startStore(t, timers.Config{})
	var all []timers.Timer
	for i := range 2500 {
		all = append(all, overdracht(i, t0.Add(time.Duration(i)*time.Second)))
	}
	for round := range 2 {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.ScheduleMany(ctx, all); err != nil {
			t.Fatalf("round %d: ScheduleMany: %v", round, err)
		}
	}
	if n, err := s.Pending(ctx); err != nil || n != 2500 {
		t.Fatalf("Pending = %d, %v; want 2500", n, err)
	}
	for _, i := range []int{0, 999, 1000, 2499} {
		got, ok, err := s.Get(ctx, all[i].ID)
		if err != nil || !ok {
			t.Fatalf("Get(%d) = %v, %v", i, ok, err)
		}
		if d := diff(got, all[i]); d != "" {
			t.Errorf("timer %d: %s", i, d)
		}
	}
}

// TestTimersStayCompact guards the memory target: a typical timer must
// fit Redis's default hash-max-listpack-value, so its bucket stays a
// listpack.
func TestTimersStayCompact(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rdb, s := startStore(t, timers.Config{})
	far := time.Date(2044, 2, 29, 23, 59, 59, 0, time.UTC)
	for name, tm := range map[string]timers.Timer{
		"aanmelding": aanmelding(1, t0),
		"overdracht": overdracht(2, t0),
		"far anchor": func() timers.Timer { t := overdracht(3, t0); t.Anchor = far; t.Level = 3; return t }(),
		"logged due in nanoseconds": func() timers.Timer {
			t := overdracht(4, t0)
			t.Due = t.Termijn.Add(-80*24*time.Hour + 123456789*time.Nanosecond) // logged between the reminder and the term
			return t
		}(),
		"declined now": func() timers.Timer {
			t := aanmelding(5, t0)
			now := time.Now()
			t.Reden, t.Termijn, t.Due = string(events.RedenGeweigerd), now, now
			return t
		}(),
	} {
		schedule(t, s, tm)
		bucket := prefix + "d:" + tm.ID[:4]
		if enc, err := rdb.ObjectEncoding(ctx, bucket).Result(); err != nil || enc != "listpack" {
			t.Errorf("%s: bucket %s encoding = %q, %v; want listpack", name, bucket, enc, err)
		}
		if enc, err := rdb.ObjectEncoding(ctx, prefix+"due").Result(); err != nil || enc == "" {
			t.Errorf("due set: %q, %v", enc, err)
		}
	}
}

// TestLongTimers checks that a timer longer than a listpack value is kept
// in chunks that leave no trace when it shrinks or goes.
func TestLongTimers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rdb, s := startStore(t, timers.Config{})
	long := aanmelding(1, t0)
	long.Betreft.ID = strings.Repeat("x", 200) // 4 chunks
	bucket := prefix + "d:" + long.ID[:4]
	fields := func() int64 {
		t.Helper()
		n, err := rdb.HLen(ctx, bucket).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	steps := []struct {
		name       string
		op         func() error
		wantFields int64
	}{
		{"schedule long", func() error { return s.Schedule(ctx, long) }, 4},
		{"schedule again", func() error { return s.Schedule(ctx, long) }, 4},
		{"advance to short", func() error {
			short := long
			short.Betreft.ID, short.Level = "kort", 2
			ok, err := s.Advance(ctx, short, long)
			if !ok && err == nil {
				err = errors.New("Advance returned false")
			}
			return err
		}, 1},
		{"schedule long again", func() error { return s.Schedule(ctx, long) }, 4},
		{"cancel", func() error { _, err := s.Cancel(ctx, long.ID); return err }, 0},
		{"schedule long after cancel", func() error { return s.Schedule(ctx, long) }, 4},
		{"finish", func() error { _, err := s.Finish(ctx, long); return err }, 0},
	}
	for _, st := range steps {
		if err := st.op(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := fields(); got != st.wantFields {
			t.Fatalf("%s: bucket has %d fields, want %d", st.name, got, st.wantFields)
		}
		if st.wantFields > 0 {
			if enc, _ := rdb.ObjectEncoding(ctx, bucket).Result(); enc != "listpack" {
				t.Errorf("%s: bucket encoding %q, want listpack", st.name, enc)
			}
		}
	}
	huge := long
	huge.Subject = strings.Repeat("x", 20000)
	if err := s.Schedule(ctx, huge); !errors.Is(err, timers.ErrInvalid) {
		t.Errorf("Schedule of a 20 kB timer: %v; want ErrInvalid", err)
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	s := newStore(t, rdb, timers.Config{})
	tm := aanmelding(1, t0)
	schedule(t, s, tm)
	srv.Stop()
	ops := []struct {
		name string
		op   func() error
	}{
		{"Schedule", func() error { return s.Schedule(ctx, tm) }},
		{"ScheduleMany", func() error { return s.ScheduleMany(ctx, []timers.Timer{tm}) }},
		{"Get", func() error { _, _, err := s.Get(ctx, tm.ID); return err }},
		{"Cancel", func() error { _, err := s.Cancel(ctx, tm.ID); return err }},
		{"Claim", func() error { _, err := s.Claim(ctx, t0, 10); return err }},
		{"Advance", func() error { _, err := s.Advance(ctx, tm, tm); return err }},
		{"Finish", func() error { _, err := s.Finish(ctx, tm); return err }},
		{"Remember", func() error { return s.Remember(ctx, tm.ID, "x", time.Minute) }},
		{"Remembered", func() error { _, _, err := s.Remembered(ctx, tm.ID); return err }},
		{"Pending", func() error { _, err := s.Pending(ctx); return err }},
		{"List", func() error { _, _, err := s.List(ctx, 0, 10); return err }},
		{"Clear", func() error { return s.Clear(ctx) }},
	}
	for _, o := range ops {
		if err := o.op(); !errors.Is(err, timers.ErrUnavailable) {
			t.Errorf("%s with Redis stopped: %v; want an error wrapping ErrUnavailable", o.name, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	srv.Restart(t)
	if _, err := s.Claim(cancelled, t0, 10); err == nil || errors.Is(err, timers.ErrUnavailable) {
		t.Errorf("Claim with a cancelled context: %v; want context.Canceled, not ErrUnavailable", err)
	}
	// The client redials in the background; the store works again soon.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Claim(ctx, t0, 10)
		if err == nil {
			break
		}
		if !errors.Is(err, timers.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Claim after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConcurrentClaimers runs two claimers, each with its own connection,
// on 10,000 timers due in the same second: within a lease every timer goes
// to exactly one claimer; with Redis restarted or killed in the middle
// (AOF, fsync always) every timer is still claimed.
func TestConcurrentClaimers(t *testing.T) {
	t.Parallel()
	const (
		n     = 10000
		batch = 100
		lease = time.Minute
	)
	tests := []struct {
		name    string
		restart func(*redistest.Server, testing.TB)
		// abandon is how many timers a third claimer takes first and
		// drops, as a replica that crashed after claiming would.
		abandon int
	}{
		{name: "steady"},
		{name: "claimer crashed", abandon: 500},
		{name: "restart", restart: func(s *redistest.Server, tb testing.TB) { s.Restart(tb) }},
		{name: "crash", restart: func(s *redistest.Server, tb testing.TB) { s.Kill(); s.Restart(tb) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			srv := redistest.Start(t, redistest.WithAOF())
			loader := newStore(t, srv.Client(t), timers.Config{Lease: lease})
			all := make([]timers.Timer, n)
			for i := range all {
				all[i] = aanmelding(i, t0.Add(time.Duration(i%1000)*time.Millisecond))
			}
			if err := loader.ScheduleMany(ctx, all); err != nil {
				t.Fatal(err)
			}
			now := t0.Add(time.Second)
			if tt.abandon > 0 {
				dropped, err := loader.Claim(ctx, now, tt.abandon)
				if err != nil || len(dropped) != tt.abandon {
					t.Fatalf("abandoned Claim = %d timers, %v", len(dropped), err)
				}
			}

			var (
				mu          sync.Mutex
				claims      = map[string]int{}
				total       int
				unavailable int
				restartAt   = make(chan struct{})
				once        sync.Once
				restarted   = -1 // timers claimed when Redis was back
			)
			claimer := func(s *timers.Store, now time.Time) error {
				for {
					ts, err := s.Claim(ctx, now, batch)
					if errors.Is(err, timers.ErrUnavailable) {
						mu.Lock()
						unavailable++
						mu.Unlock()
						time.Sleep(20 * time.Millisecond)
						continue
					}
					if err != nil {
						return err
					}
					if len(ts) == 0 {
						return nil
					}
					mu.Lock()
					for _, tm := range ts {
						claims[tm.ID]++
					}
					total += len(ts)
					if total >= n/3 {
						once.Do(func() { close(restartAt) })
					}
					mu.Unlock()
					for _, tm := range ts {
						for {
							_, err := s.Finish(ctx, tm)
							if err == nil {
								break
							}
							if !errors.Is(err, timers.ErrUnavailable) {
								return err
							}
							time.Sleep(20 * time.Millisecond)
						}
					}
				}
			}
			// start runs two claimers, each with its own connection, and
			// returns a function that waits for them.
			start := func(now time.Time) (wait func(), done <-chan struct{}) {
				var wg sync.WaitGroup
				errs := make(chan error, 2)
				for range 2 {
					s := newStore(t, srv.Client(t), timers.Config{Lease: lease})
					wg.Go(func() { errs <- claimer(s, now) })
				}
				finished := make(chan struct{})
				go func() { wg.Wait(); close(finished) }()
				return func() {
					<-finished
					close(errs)
					for err := range errs {
						if err != nil {
							t.Fatalf("claimer: %v", err)
						}
					}
				}, finished
			}

			wait, finished := start(now)
			if tt.restart != nil {
				select {
				case <-restartAt:
					tt.restart(srv, t)
					mu.Lock()
					restarted = total
					mu.Unlock()
				case <-finished:
				}
			}
			wait()

			for id, c := range claims {
				if c > 1 {
					t.Fatalf("timer %s claimed %d times within one lease", id, c)
				}
			}
			if tt.restart != nil && (restarted < 0 || restarted >= n) {
				t.Fatalf("Redis came back after %d of %d claims: not in the middle of the run", restarted, n)
			}
			// Timers whose claimer dropped them, or whose claim reply was
			// lost in a restart, come back when the lease ends.
			lost := n - len(claims)
			if tt.restart == nil && lost != tt.abandon {
				t.Errorf("%d timers not claimed within the lease; want the %d abandoned ones", lost, tt.abandon)
			}
			wait, _ = start(now.Add(lease))
			wait()
			if tt.restart != nil {
				t.Logf("Redis back after %d claims; %d claims failed while it was away; %d timers came back after the lease", restarted, unavailable, lost)
			}
			if len(claims) != n {
				t.Errorf("%d of %d timers claimed; %d lost", len(claims), n, n-len(claims))
			}
			if p, err := loader.Pending(ctx); err != nil || p != 0 {
				t.Errorf("Pending after every timer finished = %d, %v; want 0", p, err)
			}
		})
	}
}

func TestMain(m *testing.M) {
	// Redis is stopped on purpose here; the client's dial errors are
	// expected and come back as ErrUnavailable.
	redis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func withLevel(tm timers.Timer, level int) timers.Timer {
	tm.Level = level
	return tm
}

func TestOutOfRange(t *testing.T) {
	t.Parallel()
	base := timers.Timer{Termijn: time.Date(2026, 4, 9, 0, 0, 0, 0, time.UTC), Due: time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		name   string
		change func(*timers.Timer)
		want   bool
	}{
		{"a term of 2026", func(*timers.Timer) {}, false},
		{"1900", func(t *timers.Timer) { t.Termijn, t.Due = t.Termijn.AddDate(-126, 0, 0), t.Due.AddDate(-126, 0, 0) }, false},
		{"due 9998-12-31", func(t *timers.Timer) { t.Due = time.Date(9998, 12, 31, 0, 0, 0, 0, time.UTC) }, false},
		{"due in 9999, past 9999 in a zone east of UTC", func(t *timers.Timer) { t.Due = time.Date(9999, 12, 31, 23, 30, 0, 0, time.UTC) }, true},
		{"termijn in 10000", func(t *timers.Timer) { t.Termijn = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, true},
		{"anchor in 10017", func(t *timers.Timer) { t.Anchor = time.Date(10017, 12, 31, 0, 0, 0, 0, time.UTC) }, true},
	} {
		tm := base
		tc.change(&tm)
		if got := tm.OutOfRange(); got != tc.want {
			t.Errorf("%s: OutOfRange = %v, want %v", tc.name, got, tc.want)
		}
	}
}
