package router

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/scrape"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

type metrics struct {
	deliveries *prometheus.CounterVec
	unrouted   *prometheus.CounterVec
	unreadable prometheus.Counter
	lag        prometheus.Histogram
	duration   prometheus.Histogram
}

// newMetrics registers the router's metrics in reg; js and durable name
// the consumer on EVENTS whose backlog is read at scrape time.
func newMetrics(reg prometheus.Registerer, js jetstream.JetStream, durable string) *metrics {
	r := telemetry.NewMetrics(reg)
	m := &metrics{
		deliveries: r.CounterVec("ketenbus_router_deliveries_total",
			"Deliveries the router stored on DELIVERY, by partner and event (name.version).", "partner", "event"),
		unrouted: r.CounterVec("ketenbus_router_unrouted_total",
			"Events no subscription matched, by event (name.version).", "event"),
		unreadable: r.Counter("ketenbus_router_unreadable_total",
			"Events the router could not read or route; they stay in EVENTS."),
		lag: r.Histogram("ketenbus_router_lag_seconds",
			"Time from storage in EVENTS until the deliveries were stored.", prometheus.ExponentialBuckets(0.0005, 2, 16)),
		duration: r.Histogram("ketenbus_router_handle_seconds",
			"Time to route one event and store its deliveries.", prometheus.ExponentialBuckets(0.0001, 2, 16)),
	}
	reg.MustRegister(newPendingEvents(reg, js, durable))
	return m
}

// newPendingEvents returns ketenbus_router_pending_events, read at scrape
// time from the router's durable consumer on EVENTS: the events not yet
// acked (not yet delivered to the router plus in flight). It has no sample
// while the consumer does not exist (before the first Run), nor at a
// scrape NATS does not answer (counted in ketenbus_scrape_errors_total).
// It costs one request per scrape and nothing per event.
func newPendingEvents(reg prometheus.Registerer, js jetstream.JetStream, durable string) *scrape.Gauge {
	return scrape.NewGauge("ketenbus_router_pending_events",
		"Events on EVENTS the router's consumer has not acked: not yet routed or in flight; no sample while NATS does not answer.",
		scrape.Errors(reg), scrape.NATS,
		func(ctx context.Context) (float64, bool, error) {
			n, found, err := streams.Backlog(ctx, js, events.StreamEvents, durable)
			return float64(n), found, err
		})
}
