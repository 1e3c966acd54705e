package router

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/streams"
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
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_router_deliveries_total",
			Help: "Deliveries the router stored on DELIVERY, by partner and event (name.version).",
		}, []string{"partner", "event"}),
		unrouted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_router_unrouted_total",
			Help: "Events no subscription matched, by event (name.version).",
		}, []string{"event"}),
		unreadable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ketenbus_router_unreadable_total",
			Help: "Events the router could not read or route; they stay in EVENTS.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ketenbus_router_lag_seconds",
			Help:    "Time from storage in EVENTS until the deliveries were stored.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ketenbus_router_handle_seconds",
			Help:    "Time to route one event and store its deliveries.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
	}
	reg.MustRegister(m.deliveries, m.unrouted, m.unreadable, m.lag, m.duration,
		newPendingEvents(js, durable))
	return m
}

// pendingEvents is a prometheus.Collector that reads, at scrape time, the
// router's backlog from its durable consumer on EVENTS:
// ketenbus_router_pending_events, the events not yet acked (not yet
// delivered to the router plus in flight). It is -1 when NATS did not
// answer within streams.ScrapeTimeout, the way ketenbus_samenloop_persons reports
// Redis being away, and has no sample while the consumer does not exist
// (before the first Run). It costs one request per scrape and nothing per
// event. Collect is safe for concurrent use.
type pendingEvents struct {
	js      jetstream.JetStream
	durable string
	desc    *prometheus.Desc
}

var _ prometheus.Collector = (*pendingEvents)(nil)

func newPendingEvents(js jetstream.JetStream, durable string) *pendingEvents {
	return &pendingEvents{js: js, durable: durable, desc: prometheus.NewDesc("ketenbus_router_pending_events",
		"Events on EVENTS the router's consumer has not acked: not yet routed or in flight; -1 while NATS does not answer.",
		nil, nil)}
}

// Describe implements prometheus.Collector.
func (p *pendingEvents) Describe(ch chan<- *prometheus.Desc) { ch <- p.desc }

// Collect implements prometheus.Collector.
func (p *pendingEvents) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), streams.ScrapeTimeout)
	defer cancel()
	n, found, err := streams.Backlog(ctx, p.js, events.StreamEvents, p.durable)
	if err == nil && !found {
		return
	}
	v := -1.0
	if err == nil {
		v = float64(n)
	}
	ch <- prometheus.MustNewConstMetric(p.desc, prometheus.GaugeValue, v)
}
