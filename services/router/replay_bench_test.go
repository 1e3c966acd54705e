package router_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// BenchmarkReplay measures a replay of b.N signalen into one partner's
// DELIVERY subject (zvh of testdata/region.yaml: a webhook partner whose
// field allow-list reduces the data), beside a raw nats.go loop doing the
// least of that work on the same nats-server process in the same run: an
// ordered consumer on EVENTS, PublishMsgAsync of each event to DELIVERY,
// PubAcks awaited in windows of 1024. Target: replay ≥ 0.5× raw.
//
//	go test -run '^$' -bench 'BenchmarkReplay$' -benchtime 1000000x
func BenchmarkReplay(b *testing.B) {
	env := natstest.StartProcess(b)
	reg := loadRegion(b, "testdata/region.yaml")
	fill(b, env, b.N)
	ctx := context.Background()

	b.ResetTimer()
	start := time.Now()
	rawReplay(b, env, b.N)
	raw := float64(b.N) / time.Since(start).Seconds()

	b.StopTimer()
	if st, err := env.JS.Stream(ctx, events.StreamDelivery); err != nil || st.Purge(ctx) != nil {
		b.Fatalf("purge DELIVERY: %v", err)
	}
	b.StartTimer()

	start = time.Now()
	rep, err := router.Replay(ctx, router.ReplayConfig{Region: reg, JetStream: env.JS, Partners: []string{"zvh"},
		Range: streams.ReplayOptions{FromSeq: 1}})
	replayed := float64(b.N) / time.Since(start).Seconds()
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if rep.Events != uint64(b.N) || rep.Deliveries() != uint64(b.N) {
		b.Fatalf("replay read %d events and made %d deliveries, want %d each", rep.Events, rep.Deliveries(), b.N)
	}
	if st, err := env.JS.Stream(ctx, events.StreamDelivery); err != nil || st.CachedInfo().State.Msgs != uint64(b.N) {
		b.Fatalf("DELIVERY does not hold %d deliveries (%v)", b.N, err)
	}
	b.ReportMetric(replayed, "events/s")
	b.ReportMetric(raw, "raw-events/s")
	b.ReportMetric(replayed/raw, "x-raw")
	if b.N >= 1000 {
		fmt.Printf("BenchmarkReplay N=%d: replay %.0f events/s = %.2fx raw consume-and-publish %.0f events/s (target >= 0.5x)\n",
			b.N, replayed, replayed/raw, raw)
	}
}

// rawReplay reads the first n events of EVENTS with an ordered consumer
// and publishes each to DELIVERY, waiting for the PubAcks of every 1024.
func rawReplay(b *testing.B, env *natstest.Env, n int) {
	b.Helper()
	ctx := context.Background()
	st, err := env.JS.Stream(ctx, events.StreamEvents)
	if err != nil {
		b.Fatal(err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.SubjectEventsAll}})
	if err != nil {
		b.Fatal(err)
	}
	it, err := cons.Messages()
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	const window = 1024
	futs := make([]jetstream.PubAckFuture, 0, window)
	wait := func() {
		for _, f := range futs {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatal(err)
			}
		}
		futs = futs[:0]
	}
	for range n {
		m, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		out := &nats.Msg{Subject: events.DeliverySubject("raw"), Data: m.Data(),
			Header: nats.Header{jetstream.MsgIDHeader: {m.Headers().Get(jetstream.MsgIDHeader)}}}
		f, err := env.JS.PublishMsgAsync(out)
		if err != nil {
			b.Fatal(err)
		}
		if futs = append(futs, f); len(futs) == window {
			wait()
		}
	}
	wait()
}
