package samenloopindex_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/samenloopindex"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

const (
	benchSignals = 1_000_000 // signalen added
	benchPersons = 300_000   // persons they are about
	benchWorkers = 32        // concurrent callers
)

type benchSignal struct {
	person string
	sig    samenloopindex.Signal
}

// BenchmarkIndex adds 1,000,000 signalen about 300,000 persons (from 12
// partners, signalled over the last 700 days) to the index of a real
// redis-server from 32 goroutines, beside a raw go-redis HSET of the same
// field per signaal into the same per-person hashes, from as many
// goroutines. It reports signalen/s, the ratio to raw, and the Redis memory
// per signaal once all are in.
func BenchmarkIndex(b *testing.B) {
	srv := redistest.Start(b)
	rdb := srv.Client(b)
	rdb.Options().PoolSize = benchWorkers
	ctx := context.Background()
	now := time.Now().UTC()
	signals := makeSignals(now)

	for range b.N {
		if err := rdb.FlushAll(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		ix, err := samenloopindex.New(rdb, samenloopindex.Config{})
		if err != nil {
			b.Fatal(err)
		}
		before := srv.UsedMemory(b)
		var joined atomic.Int64
		took := parallel(signals, func(s benchSignal) error {
			out, err := ix.Add(ctx, s.person, s.sig, "zvh", now)
			if out.Joined != "" {
				joined.Add(1)
			}
			return err
		})
		perSignal := float64(srv.UsedMemory(b)-before) / benchSignals
		persons, err := ix.Persons(ctx)
		if err != nil {
			b.Fatal(err)
		}

		if err := rdb.FlushAll(ctx).Err(); err != nil {
			b.Fatal(err)
		}
		rawBefore := srv.UsedMemory(b)
		rawTook := parallel(signals, func(s benchSignal) error {
			p, _ := hex.DecodeString(s.person)
			k, _ := hex.DecodeString(s.sig.Key)
			v := fmt.Sprintf("%s\x00%d\x00%d\x00", s.sig.Partner, s.sig.At.UnixMilli(), s.sig.Seq)
			return rdb.HSet(ctx, "raw:x:"+string(p), string(k), v).Err()
		})
		rawPerSignal := float64(srv.UsedMemory(b)-rawBefore) / benchSignals

		rate := benchSignals / took.Seconds()
		rawRate := benchSignals / rawTook.Seconds()
		b.ReportMetric(rate, "signalen/s")
		b.ReportMetric(rate/rawRate, "ratio-vs-hset")
		b.ReportMetric(perSignal, "bytes/signaal")
		b.Logf("\n"+
			"Add, %d goroutines:        %8.0f signalen/s  (%d in %v; %d partners joined a samenloop; %d persons)\n"+
			"raw HSET, same fields:      %8.0f signalen/s  (%v); ratio %.2f\n"+
			"Redis memory per signaal:   %8.1f bytes       (the raw per-person hashes alone: %.1f)",
			benchWorkers, rate, benchSignals, took.Round(time.Millisecond), joined.Load(), persons,
			rawRate, rawTook.Round(time.Millisecond), rate/rawRate,
			perSignal, rawPerSignal)
	}
}

// makeSignals returns the signalen: persons drawn uniformly, 12 partners
// with three sources each, UUID ids, signalled at any moment of the last
// 700 days.
func makeSignals(now time.Time) []benchSignal {
	rng := mrand.New(mrand.NewPCG(1, 42))
	persons := make([]string, benchPersons)
	var p [32]byte
	for i := range persons {
		_, _ = rand.Read(p[:])
		persons[i] = hex.EncodeToString(p[:])
	}
	out := make([]benchSignal, benchSignals)
	for i := range out {
		partner := rng.IntN(12)
		source := fmt.Sprintf("urn:nld:oin:%020d:systeem:app%d", 1234567890000+partner, rng.IntN(3))
		id := uuid.Must(uuid.NewRandomFromReader(rand.Reader)).String()
		out[i] = benchSignal{
			person: persons[rng.IntN(benchPersons)],
			sig: samenloopindex.Signal{
				Key:     events.MsgID(source, id),
				Partner: fmt.Sprintf("partner-%02d", partner),
				At:      now.Add(-time.Duration(rng.Int64N(int64(700 * 24 * time.Hour)))).Truncate(time.Millisecond),
				Seq:     uint64(i + 1),
			},
		}
	}
	return out
}

// parallel calls f for every signaal from benchWorkers goroutines and
// returns how long that took.
func parallel(signals []benchSignal, f func(benchSignal) error) time.Duration {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		once sync.Once
		ferr error
	)
	start := time.Now()
	for range benchWorkers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(signals)) {
					return
				}
				if err := f(signals[i]); err != nil {
					once.Do(func() { ferr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if ferr != nil {
		panic(ferr)
	}
	return time.Since(start)
}
