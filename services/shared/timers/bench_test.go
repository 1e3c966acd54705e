package timers_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

const (
	benchPending  = 1_000_000 // timers scheduled and kept pending
	benchBatch    = 1_000     // timers per ScheduleMany call
	benchDue      = 10_000    // timers due in the same second
	benchClaimMax = 500       // timers per Claim
)

// BenchmarkTimers measures, against a real redis-server: (a) the
// scheduling rate of 1,000,000 timers in ScheduleMany batches of 1,000,
// beside raw pipelined ZADDs of as many members; (b) the Redis memory per
// pending timer; (c) claiming 10,000 timers due in the same second, on top
// of the 1,000,000 pending ones, in batches of 500, beside a bare Lua
// "claim 10 due" script on a sorted set of the same size. Targets:
// ≥ 50,000 timers/s scheduled, ≤ 250 bytes per timer.
func BenchmarkTimers(b *testing.B) {
	srv := redistest.Start(b)
	rdb := srv.Client(b)
	ctx := context.Background()
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	pending := benchTimers(benchPending, now, 1)

	for range b.N {
		if err := rdb.FlushAll(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		store := newStore(b, rdb, timers.Config{Lease: time.Minute})

		// (a) and (b): schedule, then measure memory.
		before := srv.UsedMemory(b)
		start := time.Now()
		for i := 0; i < len(pending); i += benchBatch {
			if err := store.ScheduleMany(ctx, pending[i:min(i+benchBatch, len(pending))]); err != nil {
				b.Fatal(err)
			}
		}
		scheduleTook := time.Since(start)
		perTimer := float64(srv.UsedMemory(b)-before) / benchPending

		rawBefore := srv.UsedMemory(b)
		rawTook := rawZAdd(b, rdb, pending)
		rawPerMember := float64(srv.UsedMemory(b)-rawBefore) / benchPending

		// (c): 10,000 due in the same second, among the pending ones.
		due := benchTimers(benchDue, now.Add(-time.Second), 2)
		if err := store.ScheduleMany(ctx, due); err != nil {
			b.Fatal(err)
		}
		claimTook, calls := claimAll(b, store, now)
		rawClaimTook := rawClaim(b, rdb, due, now)

		rate := benchPending / scheduleTook.Seconds()
		rawRate := benchPending / rawTook.Seconds()
		claimRate := benchDue / claimTook.Seconds()
		rawClaimRate := benchDue / rawClaimTook.Seconds()
		b.ReportMetric(rate, "timers/s")
		b.ReportMetric(rate/rawRate, "ratio-vs-zadd")
		b.ReportMetric(perTimer, "bytes/timer")
		b.ReportMetric(claimTook.Seconds()*1000, "ms-claim-10k")
		b.ReportMetric(claimRate, "claimed/s")
		b.Logf("\n"+
			"(a) ScheduleMany, batches of %d:  %9.0f timers/s   (%d in %v)\n"+
			"    raw pipelined ZADD, same ids:   %9.0f members/s  (%v); ratio %.2f\n"+
			"(b) Redis memory at %d pending:   %9.1f bytes/timer  (sorted set alone: %.1f)\n"+
			"(c) Claim %d due in one second, batches of %d, %d pending besides:\n"+
			"    all claimed in %v (%d calls):   %9.0f timers/s\n"+
			"    raw Lua \"claim 10 due\":        %9.0f timers/s  (%v)",
			benchBatch, rate, benchPending, scheduleTook.Round(time.Millisecond),
			rawRate, rawTook.Round(time.Millisecond), rate/rawRate,
			benchPending, perTimer, rawPerMember,
			benchDue, benchClaimMax, benchPending, claimTook.Round(time.Microsecond), calls, claimRate,
			rawClaimRate, rawClaimTook.Round(time.Microsecond))
		if perTimer > 250 {
			b.Errorf("%.1f bytes of Redis memory per timer; the target is ≤ 250", perTimer)
		}
		if rate < 50_000 {
			b.Errorf("%.0f timers/s scheduled; the target is ≥ 50,000", rate)
		}
	}
}

// benchTimers returns n realistic timers due from base on: four in five
// aanmeldingen at a later ladder level, one in five overdrachten, half of
// those with a due time logged to the nanosecond; 30 senders, 20
// ontvangers.
func benchTimers(n int, base time.Time, seed uint64) []timers.Timer {
	rng := mrand.New(mrand.NewPCG(seed, 42))
	ts := make([]timers.Timer, n)
	var subject [32]byte
	for i := range ts {
		sender := rng.IntN(30)
		source := fmt.Sprintf("urn:nld:oin:%020d:systeem:crm", 1234567890000+sender)
		id := uuid.Must(uuid.NewRandomFromReader(rand.Reader)).String()
		_, _ = rand.Read(subject[:])
		t := timers.Timer{
			ID:        events.MsgID(source, id),
			Kind:      "aanmelding",
			Betreft:   timers.Ref{Source: source, ID: id, Type: events.TypeAanmelding},
			Subject:   hex.EncodeToString(subject[:]),
			Ontvanger: "wijkteam-" + strconv.Itoa(rng.IntN(20)),
			Sender:    "gemeente-" + strconv.Itoa(sender),
			Level:     1,
			Reden:     string(events.RedenTermijnVerstreken),
		}
		if n == benchDue {
			// All due within the second before base.
			t.Termijn = base.Add(-time.Duration(rng.IntN(1000)) * time.Millisecond)
			t.Due = t.Termijn
		} else {
			day := midnight(base.AddDate(0, 0, 1+rng.IntN(30)))
			t.Termijn = day
			t.Due = day.AddDate(0, 0, 2+rng.IntN(3))
		}
		if i%5 == 4 && n != benchDue {
			birthday := midnight(base.AddDate(0, 7+rng.IntN(12), rng.IntN(28)))
			t.Kind, t.Level, t.Reden = "overdracht", 0, string(events.RedenHerinnering18)
			t.Betreft.Type = events.TypeOverdrachtJeugdWmo
			t.Anchor = birthday
			t.Termijn = birthday.AddDate(0, -3, 0)
			t.Due = birthday.AddDate(0, -6, 0)
			if i%10 == 9 {
				t.Due = t.Termijn.Add(-time.Duration(rng.Int64N(int64(80 * 24 * time.Hour))))
			}
		}
		ts[i] = t
	}
	return ts
}

func midnight(t time.Time) time.Time {
	y, m, d := t.In(amsterdam).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, amsterdam)
}

// rawZAdd adds the timers' ids (16 raw bytes) with their due times to a
// plain sorted set, 1,000 single-member ZADDs per pipeline, and returns
// how long that took.
func rawZAdd(b *testing.B, rdb *redis.Client, ts []timers.Timer) time.Duration {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < len(ts); i += benchBatch {
		pipe := rdb.Pipeline()
		for _, t := range ts[i:min(i+benchBatch, len(ts))] {
			raw, _ := hex.DecodeString(t.ID)
			pipe.ZAdd(ctx, "raw:due", redis.Z{Score: float64(t.Due.UnixMilli()), Member: raw})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// claimAll claims every due timer in batches and returns how long that
// took and how many calls it made.
func claimAll(b *testing.B, s *timers.Store, now time.Time) (time.Duration, int) {
	b.Helper()
	ctx := context.Background()
	claimed, calls := 0, 0
	start := time.Now()
	for {
		ts, err := s.Claim(ctx, now, benchClaimMax)
		if err != nil {
			b.Fatal(err)
		}
		calls++
		claimed += len(ts)
		if len(ts) < benchClaimMax {
			break
		}
	}
	took := time.Since(start)
	if claimed != benchDue {
		b.Fatalf("claimed %d timers, want %d", claimed, benchDue)
	}
	return took, calls
}

// rawClaimScript is the bare baseline: take 10 due members and lease them.
var rawClaimScript = redis.NewScript(`
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, 10)
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return #ids
`)

// rawClaim adds the due timers to the raw sorted set (which holds the
// pending ones already) and claims them 10 at a time with rawClaimScript.
func rawClaim(b *testing.B, rdb *redis.Client, due []timers.Timer, now time.Time) time.Duration {
	b.Helper()
	ctx := context.Background()
	rawZAdd(b, rdb, due)
	claimed := 0
	start := time.Now()
	for {
		n, err := rawClaimScript.Run(ctx, rdb, []string{"raw:due"}, now.UnixMilli(), now.Add(time.Minute).UnixMilli()).Int()
		if err != nil {
			b.Fatal(err)
		}
		claimed += n
		if n < 10 {
			break
		}
	}
	took := time.Since(start)
	if claimed != benchDue {
		b.Fatalf("raw claim took %d members, want %d", claimed, benchDue)
	}
	return took
}
