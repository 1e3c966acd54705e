package router_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// BenchmarkFanOut measures the router fanning every event out to 4
// partners, beside a raw nats.go loop doing the same work on the same
// nats-server process in the same run: consume EVENTS, publish 4 copies
// asynchronously, ack after their PubAcks. Target: router ≥ 0.8× raw.
//
// The four partners take webhook delivery, as most partners do: the
// adapter logs their deliveries. BenchmarkFanOutNATSNative has four
// NATS-native partners instead, for which the router also writes the
// processing-log record of every delivery.
func BenchmarkFanOut(b *testing.B) {
	benchFanOut(b, natstest.StartProcess, "testdata/bench-region.yaml")
}

// BenchmarkFanOutNATSNative is BenchmarkFanOut with four NATS-native
// partners: two messages stored per delivery, the delivery and its AUDIT
// record.
func BenchmarkFanOutNATSNative(b *testing.B) {
	benchFanOut(b, natstest.StartProcess, "testdata/bench-region-nats.yaml")
}

// BenchmarkFanOutCluster is BenchmarkFanOut against a cluster of three
// nats-server processes with R3 streams, as production runs.
func BenchmarkFanOutCluster(b *testing.B) {
	benchFanOut(b, natstest.StartCluster, "testdata/bench-region.yaml")
}

func benchFanOut(b *testing.B, startNATS func(testing.TB) *natstest.Env, regionFile string) {
	var raw, routed, rawCPU, routedCPU float64
	b.Run("raw-consume-republish-x4", func(b *testing.B) {
		env := startNATS(b)
		fill(b, env, b.N)
		b.ResetTimer()
		cpu, srv := cpuTime(), serverCPUTime()
		rawFanOut(b, env, b.N)
		raw = perSecond(b, b.N*4)
		rawCPU = cpuPerDelivery(b, cpu, srv, b.N*4)
	})
	b.Run("router-x4", func(b *testing.B) {
		env := startNATS(b)
		fill(b, env, b.N)
		reg := loadRegion(b, regionFile)
		logger, _ := logtest.New()
		b.ResetTimer()
		cpu, srv := cpuTime(), serverCPUTime()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- router.Run(ctx, router.Config{Region: reg, JetStream: env.JS, Logger: logger}) }()
		waitStored(b, env, events.StreamDelivery, uint64(b.N*4))
		b.StopTimer()
		routed = perSecond(b, b.N*4)
		routedCPU = cpuPerDelivery(b, cpu, srv, b.N*4)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	})
	if raw > 0 && routed > 0 {
		fmt.Printf("%s: router %.0f deliveries/s = %.2fx raw consume-and-republish %.0f deliveries/s (target >= 0.8x)\n", b.Name(), routed, routed/raw, raw)
		fmt.Printf("%s: client CPU per delivery: router %.1f µs, raw %.1f µs (%.2fx)\n", b.Name(), routedCPU, rawCPU, routedCPU/rawCPU)
	}
}

// cpuTime returns the CPU time (user and system) this process has used:
// the client side of a benchmark, without the nats-server process. On a
// shared machine it varies less than elapsed time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPUTime returns the CPU time the nats-server processes this
// process started have used, read from /proc (0 where there is none).
func serverCPUTime() time.Duration {
	ents, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	var ticks int64
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime stime: fields 4, 14 and 15.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 || f[1] != me {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// cpuPerDelivery reports the CPU time used per delivery since cpu (this
// process) and srv (the nats-server processes), in microseconds, and
// returns this process's.
func cpuPerDelivery(b *testing.B, cpu, srv time.Duration, n int) float64 {
	us := float64(cpuTime()-cpu) / float64(time.Microsecond) / float64(n)
	b.ReportMetric(us, "cpu-µs/delivery")
	b.ReportMetric(float64(serverCPUTime()-srv)/float64(time.Microsecond)/float64(n), "server-cpu-µs/delivery")
	return us
}

func perSecond(b *testing.B, n int) float64 {
	r := float64(n) / b.Elapsed().Seconds()
	b.ReportMetric(r, "deliveries/s")
	return r
}

// fill stores n signalen on EVENTS, as the gateway would.
func fill(b *testing.B, env *natstest.Env, n int) {
	b.Helper()
	ev := map[string]any{
		"specversion": "1.0", "source": sourcePolitie, "type": events.TypeSignaal,
		"subject": pseudonym, "time": "2026-11-24T09:30:00Z", "datacontenttype": "application/json", "data": signaal(),
	}
	for i := 0; i < n; i++ {
		ev["id"] = "bench-" + strconv.Itoa(i)
		body, _ := json.Marshal(ev)
		m := &nats.Msg{Subject: events.EventSubject(events.TypeSignaal, "p1"), Data: body, Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, events.MsgID(sourcePolitie, ev["id"].(string)))
		if _, err := env.JS.PublishMsgAsync(m); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			<-env.JS.PublishAsyncComplete()
		}
	}
	<-env.JS.PublishAsyncComplete()
}

func rawFanOut(b *testing.B, env *natstest.Env, n int) {
	ctx := context.Background()
	cons, err := env.JS.CreateOrUpdateConsumer(ctx, events.StreamEvents, jetstream.ConsumerConfig{
		Durable: "raw", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 1024, FilterSubject: events.SubjectEventsAll,
	})
	if err != nil {
		b.Fatal(err)
	}
	acked := make(chan struct{}, n)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		futs := make([]jetstream.PubAckFuture, 4)
		for i := range futs {
			out := &nats.Msg{Subject: fmt.Sprintf("ketenbus.deliver.p%d", i+1), Data: m.Data(), Header: nats.Header{}}
			out.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s-%d", m.Headers().Get(jetstream.MsgIDHeader), i))
			f, err := env.JS.PublishMsgAsync(out)
			if err != nil {
				b.Error(err)
				return
			}
			futs[i] = f
		}
		go func() {
			for _, f := range futs {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					b.Error(err)
					return
				}
			}
			_ = m.Ack()
			acked <- struct{}{}
		}()
	}, jetstream.PullMaxMessages(1024))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	for i := 0; i < n; i++ {
		<-acked
	}
}

func waitStored(b *testing.B, env *natstest.Env, stream string, want uint64) {
	b.Helper()
	st, err := env.JS.Stream(context.Background(), stream)
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		info, err := st.Info(context.Background())
		if err == nil && info.State.Msgs >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s holds %d of %d", stream, info.State.Msgs, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
