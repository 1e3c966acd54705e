package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// Load of the latency benchmark.
const (
	benchRate    = 1000 // events per second
	benchSinks   = 4
	benchWarmUp  = 50 // events sent before measuring, to open connections and consumers
	benchWorkers = 16 // concurrent posts, so one slow answer does not delay the next
)

// benchRegion: politie publishes; four partners receive every signaal
// over webhooks, each with a subscription of another shape.
var benchRegion = e2etest.MustRead("testdata/bench.yaml")

// BenchmarkEndToEndLatency posts single signalen to the gateway at a fixed
// 1,000 events/s, b.N of them, and measures for each of the 4 partners the
// time from just before the POST to the moment the partner's handler (the
// SDK Receiver's, behind its signature check) runs: gateway, EVENTS,
// router, DELIVERY, adapter and webhook. Beside it, in the same run, the
// raw nats.go equivalent: a synchronous JetStream publish at 1,000/s,
// consumed by 4 pull consumers, from publish to consume. nats-server runs
// as its own process. Targets (issue 3): ketenbus p50 ≤ 2 ms, p99 ≤ 10 ms.
//
//	go test -run '^$' -bench EndToEndLatency -benchtime 5000x ./e2e
func BenchmarkEndToEndLatency(b *testing.B) {
	var raw, kb *latencies
	b.Run("raw-jetstream-x4", func(b *testing.B) { raw = benchRaw(b) })
	b.Run("ketenbus-x4", func(b *testing.B) { kb = benchKetenbus(b) })
	if raw == nil || kb == nil || kb.n < 100 {
		return
	}
	rp50, rp99 := raw.percentiles()
	kp50, kp99 := kb.percentiles()
	fmt.Printf("BenchmarkEndToEndLatency, %d events fanned out to %d partners:\n", kb.n, benchSinks)
	fmt.Printf("  ketenbus gateway -> 4 webhook sinks at %.0f events/s: p50 %.2f ms, p99 %.2f ms (target p50 <= 2 ms, p99 <= 10 ms)\n",
		kb.rate, ms(kp50), ms(kp99))
	fmt.Printf("  raw nats.go JetStream publish -> 4 pull consumers at %.0f events/s: p50 %.2f ms, p99 %.2f ms\n",
		raw.rate, ms(rp50), ms(rp99))
	fmt.Printf("  ketenbus / raw: p50 %.1fx, p99 %.1fx\n", float64(kp50)/float64(rp50), float64(kp99)/float64(rp99))
}

func benchKetenbus(b *testing.B) *latencies {
	f := newFixture(b, natstest.StartProcess(b), "politie", "p1", "p2", "p3", "p4")
	f.logger = slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := newLatencies(b.N)
	urls := map[string]string{}
	for k := range benchSinks {
		id := fmt.Sprintf("p%d", k+1)
		urls[id] = f.sink(b, id, "", func(_ context.Context, e cloudevents.Event) error {
			l.arrive(k, e.ID())
			return nil
		}).url
	}
	f.load(b, benchRegion, urls)
	f.startGateway(b, nil)
	f.startRouter(b, nil)
	f.startAdapter(b, nil)

	tmpl := newTemplate(b)
	post := func(id string) {
		body := tmpl.event(id)
		l.send(id)
		status, _, err := e2etest.Send(f.client, f.gateway, f.token("politie"), events.ContentTypeStructured, body, nil)
		if err != nil {
			b.Error(err)
			return
		}
		if status != http.StatusAccepted {
			b.Errorf("gateway answered %d", status)
		}
	}
	l.measure(b, post)
	return l
}

func benchRaw(b *testing.B) *latencies {
	f := newFixture(b, natstest.StartProcess(b))
	pub, sub := f.connect(b), f.connect(b)
	const subject = "ketenbus.events.signaal.v1.raw"
	l := newLatencies(b.N)
	for k := range benchSinks {
		cons, err := sub.CreateOrUpdateConsumer(context.Background(), events.StreamEvents, jetstream.ConsumerConfig{
			Durable:       fmt.Sprintf("raw-%d", k),
			FilterSubject: subject,
			AckPolicy:     jetstream.AckExplicitPolicy,
			MaxAckPending: 1024,
		})
		if err != nil {
			b.Fatal(err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			l.arrive(k, m.Headers().Get(jetstream.MsgIDHeader))
			_ = m.Ack()
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(cc.Stop)
	}
	body := storedEvent(b)
	post := func(id string) {
		m := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, id)
		l.send(id)
		if _, err := pub.PublishMsg(context.Background(), m); err != nil {
			b.Error(err)
		}
	}
	l.measure(b, post)
	return l
}

// latencies records, per event and sink, the time from sending to arrival.
// Events are named "warm-<i>" (not measured) and "lat-<i>".
type latencies struct {
	n    int
	base time.Time
	sent []atomic.Int64 // ns since base, plus 1 (0: not sent)
	got  [benchSinks][]atomic.Int64
	warm atomic.Int64 // warm-up arrivals
	left atomic.Int64 // measured arrivals still to come
	done chan struct{}
	rate float64 // events per second achieved
}

func newLatencies(n int) *latencies {
	l := &latencies{n: n, base: time.Now(), sent: make([]atomic.Int64, n), done: make(chan struct{})}
	for k := range l.got {
		l.got[k] = make([]atomic.Int64, n)
	}
	l.left.Store(int64(n * benchSinks))
	return l
}

func (l *latencies) now() int64 { return int64(time.Since(l.base)) + 1 }

// index returns i of "lat-<i>", -1 for anything else.
func index(id string) int {
	s, ok := strings.CutPrefix(id, "lat-")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return i
}

func (l *latencies) send(id string) {
	if i := index(id); i >= 0 && i < l.n {
		l.sent[i].Store(l.now())
	}
}

// arrive records event id at sink k; a redelivery does not count.
func (l *latencies) arrive(k int, id string) {
	if strings.HasPrefix(id, "warm-") {
		l.warm.Add(1)
		return
	}
	i := index(id)
	if i < 0 || i >= l.n || !l.got[k][i].CompareAndSwap(0, l.now()) {
		return
	}
	if l.left.Add(-1) == 0 {
		close(l.done)
	}
}

// measure sends the warm-up events and waits for them, then sends the b.N
// measured events at benchRate (timed) and waits until every sink has
// every one of them.
func (l *latencies) measure(b *testing.B, send func(id string)) {
	pace(benchWarmUp, benchWorkers, func(i int) { send(fmt.Sprintf("warm-%d", i)) })
	deadline := time.Now().Add(30 * time.Second)
	for l.warm.Load() < benchWarmUp*benchSinks {
		if time.Now().After(deadline) {
			b.Fatalf("warm-up: %d of %d arrivals within 30s", l.warm.Load(), benchWarmUp*benchSinks)
		}
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	l.rate = pace(l.n, benchWorkers, func(i int) { send(fmt.Sprintf("lat-%d", i)) })
	select {
	case <-l.done:
	case <-time.After(30 * time.Second):
		b.Fatalf("%d of %d arrivals missing 30s after the last send", l.left.Load(), l.n*benchSinks)
	}
	b.StopTimer()
	p50, p99 := l.percentiles()
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(l.rate, "events/s")
}

// pace calls send(0) .. send(n-1) at benchRate per second, each from one of
// workers goroutines, and returns the rate achieved from the first send to
// the return of the last.
func pace(n, workers int, send func(i int)) float64 {
	jobs := make(chan int, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				send(i)
			}
		})
	}
	interval := time.Second / benchRate
	start := time.Now()
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// percentiles returns the median and the 99th percentile of the latencies
// of all events at all sinks.
func (l *latencies) percentiles() (p50, p99 time.Duration) {
	all := make([]time.Duration, 0, l.n*benchSinks)
	for k := range l.got {
		for i := range l.n {
			if got, sent := l.got[k][i].Load(), l.sent[i].Load(); got > 0 && sent > 0 {
				all = append(all, time.Duration(got-sent))
			}
		}
	}
	if len(all) == 0 {
		return 0, 0
	}
	slices.Sort(all)
	at := func(q float64) time.Duration { return all[min(len(all)-1, int(q*float64(len(all))))] }
	return at(0.50), at(0.99)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// template is a signaal as politie's system posts it, with its id spliced
// in, so building a request costs the benchmark next to nothing.
type template struct{ prefix, suffix []byte }

func newTemplate(b *testing.B) template {
	body, err := json.Marshal(e2etest.Event("@ID@", sourcePolitie, events.TypeSignaal, signaalData()))
	if err != nil {
		b.Fatal(err)
	}
	pre, suf, _ := bytes.Cut(body, []byte("@ID@"))
	return template{prefix: pre, suffix: suf}
}

func (t template) event(id string) []byte {
	out := make([]byte, 0, len(t.prefix)+len(id)+len(t.suffix))
	out = append(out, t.prefix...)
	out = append(out, id...)
	return append(out, t.suffix...)
}

func signaalData() map[string]any {
	return map[string]any{
		"bsn": bsntest.Seeded(1000, 1)[0], "categorie": "verward-gedrag", "urgentie": "hoog",
		"toelichting":    "Man loopt verward over straat",
		"contactpersoon": map[string]any{"naam": "Wijkagent De Vries", "telefoon": "050-1234567"},
	}
}

// storedEvent is a signaal as the gateway stores it on EVENTS (subject set
// to a pseudonym, bsn still in data), for the raw baseline.
func storedEvent(b *testing.B) []byte {
	ev := e2etest.Event("raw", sourcePolitie, events.TypeSignaal, signaalData())
	ev["subject"] = strings.Repeat("5f0c6e2d", 8)
	body, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return body
}
