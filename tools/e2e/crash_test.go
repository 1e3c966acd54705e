package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// crashRegion: politie publishes, alpha and beta receive every signaal.
// A stopping service nacks what it has not finished, so deliveries come
// back at once; should one be lost anyway (a killed process), the short
// webhook timeout keeps the adapter's AckWait (timeout plus a margin)
// short. The retry schedule is long enough never to run out in a test.
var crashRegion = e2etest.MustRead("testdata/crash.yaml")

// tally is a partner's handler for a long stream: it counts the deliveries
// of every event id, and those whose idempotency key (webhook-id) is not
// the delivery id of the event for the partner's subscription. delay makes
// the partner's system slow.
type tally struct {
	partner  string
	delay    time.Duration
	inflight atomic.Int64

	mu      sync.Mutex
	seen    map[string]int
	foreign int
}

func newTally(partner string, delay time.Duration) *tally {
	return &tally{partner: partner, delay: delay, seen: map[string]int{}}
}

func (c *tally) handle(ctx context.Context, e cloudevents.Event) error {
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	d, ok := partner.DeliveryFromContext(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[e.ID()]++
	if !ok || d.Subscription == "" || d.ID != events.DeliveryID(c.partner, d.Subscription, events.MsgID(e.Source(), e.ID())) {
		c.foreign++
	}
	return nil
}

// unique is the number of distinct events received.
func (c *tally) unique() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// result returns the ids of the n events that were not received, the
// number of deliveries beyond the first, and the number with a foreign
// webhook-id.
func (c *tally) result(n int) (missing []string, duplicates, foreign int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range n {
		if c.seen[crashID(i)] == 0 {
			missing = append(missing, crashID(i))
		}
	}
	for _, k := range c.seen {
		duplicates += k - 1
	}
	return missing, duplicates, c.foreign
}

func crashID(i int) string { return fmt.Sprintf("c-%05d", i) }

// crash describes one crash test.
type crash struct {
	events int           // signalen posted
	stopAt int           // stop when both sinks have seen this many events
	delay  time.Duration // how long the sinks' handler takes
	// adapterOnly stops only the adapter, leaving the router running.
	adapterOnly bool
}

// TestCrashMidStream posts 10,000 signalen through the gateway, in batches
// of 100, and stops router and adapter (their contexts end) once the two
// partners' sinks have seen about 3,000. New instances start against the
// same nats-server; each sink must end up with every one of the 10,000
// events, and every delivery, duplicates included, carries its delivery id
// as webhook-id.
func TestCrashMidStream(t *testing.T) {
	runCrash(t, crash{events: 10_000, stopAt: 3_000})
}

// TestAdapterStoppedWithDeliveriesInFlight stops only the adapter, while
// the partners' systems are slow (5ms per event), so that requests in
// flight are cut off: the partner may have processed an event whose
// delivery the adapter abandoned. The event comes again, with the same
// webhook-id.
func TestAdapterStoppedWithDeliveriesInFlight(t *testing.T) {
	runCrash(t, crash{events: 3_000, stopAt: 1_000, delay: 5 * time.Millisecond, adapterOnly: true})
}

// runCrash runs one crash test. The crash tests do not run in parallel:
// each keeps both cores busy, and the point of the stop is its moment.
func runCrash(t *testing.T, c crash) {
	start := time.Now()
	f := newFixture(t, natstest.Start(t), "politie", "alpha", "beta")
	alpha, beta := newTally("alpha", c.delay), newTally("beta", c.delay)
	sinks := map[string]*sink{
		"alpha": f.sink(t, "alpha", "", alpha.handle),
		"beta":  f.sink(t, "beta", f.hookToken("beta"), beta.handle),
	}
	f.load(t, crashRegion, map[string]string{"alpha": sinks["alpha"].url, "beta": sinks["beta"].url})
	f.startGateway(t, nil)

	// Generous MaxAckPending: deliveries abandoned by a stopped instance
	// stay unacknowledged until their AckWait ends, and must not keep the
	// new instance from the rest of the stream meanwhile.
	routerCfg := func(cfg *router.Config) {
		cfg.MaxAckPending = 4096
		cfg.AckWait = 5 * time.Second
	}
	adapterCfg := func(cfg *adapter.Config) {
		cfg.MaxAckPending = 512
		cfg.Breaker = adapter.BreakerConfig{Failures: 5, Cooldown: 200 * time.Millisecond}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.MaxAckPending
		cfg.Client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		t.Cleanup(tr.CloseIdleConnections)
	}
	stopRouter := f.startRouter(t, routerCfg)
	stopAdapter := f.startAdapter(t, adapterCfg)

	// The stream: batches of 100 from 4 concurrent clients.
	posted := make(chan error, 1)
	go func() { posted <- f.postStream(c.events, 100, 4) }()

	// Stop in the middle of the stream.
	least := func() int { return min(alpha.unique(), beta.unique()) }
	runtest.Eventually(t, 60*time.Second, fmt.Sprintf("%d events at both sinks", c.stopAt), func() bool {
		return least() >= c.stopAt && (c.delay == 0 || alpha.inflight.Load()+beta.inflight.Load() > 0)
	})
	inflight := alpha.inflight.Load() + beta.inflight.Load()
	var wg sync.WaitGroup
	wg.Go(stopAdapter)
	if !c.adapterOnly {
		wg.Go(stopRouter)
	}
	wg.Wait()
	atStop := [2]int{alpha.unique(), beta.unique()}
	if atStop[0] >= c.events && atStop[1] >= c.events {
		t.Fatalf("every event had arrived before the stop: the stop was not in the middle of the stream")
	}
	stopped := "router and adapter"
	if c.adapterOnly {
		stopped = "adapter"
	}
	t.Logf("stopped the %s at %s: alpha had %d events, beta %d; %d requests were in the partners' handlers",
		stopped, time.Since(start).Round(time.Millisecond), atStop[0], atStop[1], inflight)

	if !c.adapterOnly {
		f.startRouter(t, routerCfg)
	}
	f.startAdapter(t, adapterCfg)
	if err := <-posted; err != nil {
		t.Fatal(err)
	}

	runtest.Eventually(t, 120*time.Second, fmt.Sprintf("all %d events at both sinks", c.events), func() bool {
		return alpha.unique() == c.events && beta.unique() == c.events
	})
	f.settle(t, 60*time.Second,
		consumer{events.StreamEvents, "router"},
		consumer{events.StreamDelivery, "adapter-alpha"},
		consumer{events.StreamDelivery, "adapter-beta"},
	)
	for id, got := range map[string]*tally{"alpha": alpha, "beta": beta} {
		missing, duplicates, foreign := got.result(c.events)
		if len(missing) > 0 {
			t.Errorf("%s did not receive %d events, such as %v", id, len(missing), missing[:min(5, len(missing))])
		}
		if foreign > 0 {
			t.Errorf("%s: %d deliveries carried a webhook-id that is not their delivery id", id, foreign)
		}
		if n := got.unique(); n != c.events {
			t.Errorf("%s received %d distinct events, want %d", id, n, c.events)
		}
		statuses, posts, handled := sinks[id].counts()
		if handled != posts {
			t.Errorf("%s: %d POSTs, %d passed the Receiver's checks (%v)", id, posts, handled, statuses)
		}
		t.Logf("%s: all %d events received; %d duplicate deliveries, each with its delivery id as webhook-id", id, c.events, duplicates)
	}
	if dl := f.env.Messages(t, events.StreamDLQ); len(dl) > 0 {
		t.Errorf("the DLQ holds %d deliveries, want none", len(dl))
	}
	t.Logf("done in %s", time.Since(start).Round(time.Millisecond))
}

// postStream posts n signalen from politie through the gateway in batches
// of size, from clients concurrent clients. A batch the gateway cannot
// take now (429, 503) is posted again, as a partner's client does; the
// gateway stores an event once however often it is posted.
func (f *fixture) postStream(n, size, clients int) error {
	bsns := bsntest.Seeded(42, 100)
	batches := make(chan int)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for b := range batches {
				if len(errs) > 0 {
					continue // one failure is enough: drain
				}
				evs := make([]map[string]any, 0, size)
				for i := b * size; i < min(n, (b+1)*size); i++ {
					evs = append(evs, e2etest.Event(crashID(i), sourcePolitie, events.TypeSignaal, map[string]any{
						"bsn": bsns[i%len(bsns)], "categorie": "overlast", "urgentie": "midden",
						"contactpersoon": map[string]any{"naam": "Wijkagent De Vries"},
					}))
				}
				body, err := json.Marshal(evs)
				if err == nil {
					err = f.postRetrying(body)
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("batch %d: %w", b, err):
					default:
					}
				}
			}
		})
	}
	for b := range (n + size - 1) / size {
		batches <- b
	}
	close(batches)
	wg.Wait()
	close(errs)
	return <-errs // nil when there is none
}

func (f *fixture) postRetrying(body []byte) error {
	for attempt := 1; ; attempt++ {
		status, answer, err := f.post(f.token("politie"), events.ContentTypeBatch, body)
		switch {
		case err == nil && status == http.StatusAccepted:
			return nil
		case attempt == 5:
			return fmt.Errorf("gateway answered %d (%v): %s", status, err, answer)
		case err == nil && !slices.Contains([]int{http.StatusTooManyRequests, http.StatusServiceUnavailable}, status):
			return fmt.Errorf("gateway answered %d: %s", status, answer)
		}
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
}
