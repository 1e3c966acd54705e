package escalator_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// BenchmarkEscalationLag: 1,000,000 timers pending (due next year) and
// 10,000 coming due within one second; the escalator with its default
// settings (poll every 250ms, claims of 500) fires them. Lag is the time
// from a timer's due time until JetStream stored its escalatie (the
// stream's own timestamp). Target: p99 ≤ 500 ms.
func BenchmarkEscalationLag(b *testing.B) {
	reg, err := region.Load("testdata/region.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	for range b.N {
		env := natstest.StartProcess(b)
		rdb := redistest.Start(b).Client(b)
		logger, _ := logtest.New()
		e, err := escalator.New(escalator.Config{ServiceConfig: projector.ServiceConfig{Region: reg, JetStream: env.JS, Redis: rdb, Logger: logger}})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		far := time.Now().AddDate(1, 0, 0)
		const pending, due = 1_000_000, 10_000
		batch := make([]timers.Timer, 0, 1000)
		flush := func() {
			if err := e.Store().ScheduleMany(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
		mk := func(id string, at time.Time) timers.Timer {
			return timers.Timer{
				ID: events.MsgID(sourcePolitie, id), Kind: "aanmelding",
				Betreft: timers.Ref{Source: sourcePolitie, ID: id, Type: events.TypeAanmelding},
				Subject: pseudonym, Ontvanger: "ggz", Sender: "politie",
				Level: 2, Reden: string(events.RedenTermijnVerstreken), Termijn: at, Due: at,
			}
		}
		for i := range pending {
			batch = append(batch, mk("far-"+strconv.Itoa(i), far))
			if len(batch) == cap(batch) {
				flush()
			}
		}
		start := time.Now().Add(3 * time.Second)
		dueAt := make(map[string]time.Time, due)
		for i := range due {
			at := start.Add(time.Duration(i) * time.Second / due)
			id := "due-" + strconv.Itoa(i)
			dueAt[id] = at
			batch = append(batch, mk(id, at))
			if len(batch) == cap(batch) {
				flush()
			}
		}
		flush()
		b.StartTimer()
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- e.Run(rctx) }()
		lags := collectLags(b, env, dueAt)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
		p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
		b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
		b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
		fmt.Printf("BenchmarkEscalationLag: %d pending, %d due within 1s: lag p50 %s, p99 %s, max %s (target p99 <= 500ms)\n",
			pending, due, p50, p99, lags[len(lags)-1])
	}
}

// collectLags waits for an escalatie of every due timer and returns, per
// timer, storage time minus due time.
func collectLags(b *testing.B, env *natstest.Env, dueAt map[string]time.Time) []time.Duration {
	b.Helper()
	ctx := context.Background()
	st, err := env.JS.Stream(ctx, events.StreamEvents)
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		info, err := st.Info(ctx)
		if err == nil && info.State.Msgs >= uint64(len(dueAt)) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d escalaties stored", info.State.Msgs, len(dueAt))
		}
		time.Sleep(20 * time.Millisecond)
	}
	lags := make([]time.Duration, 0, len(dueAt))
	for _, m := range env.Messages(b, events.StreamEvents) {
		i := strings.Index(string(m.Data), `"id":"due-`)
		if i < 0 {
			continue
		}
		rest := string(m.Data)[i+len(`"id":"`):]
		id := rest[:strings.IndexByte(rest, '"')]
		lags = append(lags, m.Time.Sub(dueAt[id]))
	}
	if len(lags) != len(dueAt) {
		b.Fatalf("%d escalaties for %d due timers", len(lags), len(dueAt))
	}
	return lags
}
