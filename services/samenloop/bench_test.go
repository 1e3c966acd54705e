package samenloop_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// BenchmarkService runs the samenloop service over b.N signalen on EVENTS
// (about b.N/3.3 persons, from the four partners of the test region),
// beside a raw nats.go consumer that only acks the same messages with the
// same MaxAckPending, in the same run on the same nats-server. It reports
// signalen/s and the ratio, in order (MaxAckPending 1, the default) and
// concurrently (64).
func BenchmarkService(b *testing.B) {
	for _, pending := range []int{1, 64} {
		b.Run(fmt.Sprintf("max-ack-pending-%d", pending), func(b *testing.B) {
			env := natstest.StartProcess(b)
			last := fillSignalen(b, env, b.N)
			rawTook := rawConsume(b, env, pending, last)

			reg, err := region.Load("testdata/region.yaml")
			if err != nil {
				b.Fatal(err)
			}
			logger, _ := logtest.New()
			s, err := samenloop.New(samenloop.Config{ServiceConfig: projector.ServiceConfig{Region: reg, JetStream: env.JS, Redis: redistest.Start(b).Client(b), Logger: logger}, MaxAckPending: pending})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			stop := runtest.Start(b, "samenloop", s.Run)
			waitAcked(b, env, "samenloop", last)
			took := time.Since(start)
			stop()
			rate, rawRate := float64(b.N)/took.Seconds(), float64(b.N)/rawTook.Seconds()
			b.ReportMetric(rate, "signalen/s")
			b.ReportMetric(rate/rawRate, "ratio-vs-raw")
			b.Logf("samenloop %.0f signalen/s = %.2fx a raw consume-and-ack loop (%.0f/s), MaxAckPending %d, %d signalen",
				rate, rate/rawRate, rawRate, pending, b.N)
		})
	}
}

// fillSignalen stores n signalen on EVENTS as the gateway would, about
// n/3.3 persons, and returns the last stream sequence.
func fillSignalen(b *testing.B, env *natstest.Env, n int) uint64 {
	b.Helper()
	rng := mrand.New(mrand.NewPCG(7, 42))
	persons := make([]string, max(1, n*10/33))
	var p [32]byte
	for i := range persons {
		_, _ = rand.Read(p[:])
		persons[i] = hex.EncodeToString(p[:])
	}
	partnerIDs := []string{"politie", "ggz", "wijkteam", "zvh"}
	now := time.Now().UTC()
	for i := 0; i < n; i++ {
		partner := partnerIDs[rng.IntN(len(partnerIDs))]
		s := signaal{partner: partner, id: fmt.Sprintf("bench-%d", i), at: now.Add(-time.Duration(rng.IntN(1000)) * time.Hour), bsn: "999993653"}
		ev := s.event()
		ev["subject"] = persons[rng.IntN(len(persons))]
		body, _ := json.Marshal(ev)
		m := &nats.Msg{Subject: events.EventSubject(events.TypeSignaal, partner), Data: body,
			Header: nats.Header{jetstream.MsgIDHeader: {events.MsgID(sources[partner], s.id)}}}
		if _, err := env.JS.PublishMsgAsync(m); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			<-env.JS.PublishAsyncComplete()
		}
	}
	<-env.JS.PublishAsyncComplete()
	st, err := env.JS.Stream(context.Background(), events.StreamEvents)
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return info.State.LastSeq
}

// rawConsume acks every signaal with a bare durable pull consumer of the
// same MaxAckPending and returns how long that took.
func rawConsume(b *testing.B, env *natstest.Env, pending int, last uint64) time.Duration {
	b.Helper()
	cons, err := env.JS.CreateOrUpdateConsumer(context.Background(), events.StreamEvents, jetstream.ConsumerConfig{
		Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: pending,
		FilterSubject: events.EventTypeSubject(events.TypeSignaal),
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	cc, err := cons.Consume(func(m jetstream.Msg) { _ = m.Ack() }, jetstream.PullMaxMessages(max(pending, 64)))
	if err != nil {
		b.Fatal(err)
	}
	waitAcked(b, env, "raw", last)
	took := time.Since(start)
	cc.Stop()
	return took
}

// waitAcked waits until the durable consumer's ack floor reaches last.
func waitAcked(b *testing.B, env *natstest.Env, durable string, last uint64) {
	b.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		c, err := env.JS.Consumer(context.Background(), events.StreamEvents, durable)
		if err == nil {
			info, err := c.Info(context.Background())
			if err == nil && info.AckFloor.Stream >= last {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("consumer %s did not reach sequence %d", durable, last)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
