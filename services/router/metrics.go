package router

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	deliveries *prometheus.CounterVec
	unrouted   *prometheus.CounterVec
	unreadable prometheus.Counter
	lag        prometheus.Histogram
	duration   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
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
	reg.MustRegister(m.deliveries, m.unrouted, m.unreadable, m.lag, m.duration)
	return m
}
