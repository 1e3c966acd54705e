package router_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/scrape"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// TestPendingEvents: ketenbus_router_pending_events is the backlog of the
// router's consumer on EVENTS, absent before the consumer exists, and
// absent (without hanging the scrape) once NATS is gone, counted in
// ketenbus_scrape_errors_total.
func TestPendingEvents(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg, err := region.Load("testdata/region.yaml")
	if err != nil {
		t.Fatal(err)
	}
	metrics := prometheus.NewRegistry()
	r, err := router.New(router.Config{Region: reg, JetStream: env.JS, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(metrics, "ketenbus_router_pending_events"); err != nil || n != 0 {
		t.Fatalf("ketenbus_router_pending_events before the consumer exists: %d samples (%v), want none", n, err)
	}

	stop := runtest.Start(t, "router", r.Run)
	storeEvent(t, env, "politie", events.TypeSignaal, sourcePolitie, "s-1", signaal(), "")
	waitDeliveries(t, env, 2)
	waitPending(t, metrics, 0)

	// Stopped, the router leaves new events pending on its consumer.
	stop()
	for i := range 3 {
		storeEvent(t, env, "politie", events.TypeSignaal, sourcePolitie, fmt.Sprintf("s-%d", i+2), signaal(), "")
	}
	if got := pending(t, metrics); got != 3 {
		t.Fatalf("ketenbus_router_pending_events = %v, want 3", got)
	}

	if got := metrictest.Value(t, metrics, scrape.ErrorsName, map[string]string{"source": scrape.NATS}); got != 0 {
		t.Fatalf("%s = %v while NATS answers, want 0", scrape.ErrorsName, got)
	}

	env.Server.Shutdown()
	metrictest.WantUnanswered(t, metrics, scrape.NATS, 1, "ketenbus_router_pending_events")
}

// pending gathers ketenbus_router_pending_events.
func pending(t *testing.T, metrics *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "ketenbus_router_pending_events" && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no ketenbus_router_pending_events sample")
	return 0
}

// waitPending waits until ketenbus_router_pending_events is want (the ack
// of the last event may trail its deliveries).
func waitPending(t *testing.T, metrics *prometheus.Registry, want float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for got := pending(t, metrics); got != want; got = pending(t, metrics) {
		if ctx.Err() != nil {
			t.Fatalf("ketenbus_router_pending_events = %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
