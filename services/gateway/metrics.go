package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/events"
)

type metrics struct {
	events   *prometheus.CounterVec
	refusals *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_gateway_events_total",
			Help: "Events accepted by the gateway, by event (name.version), partner and result (stored or duplicate).",
		}, []string{"event", "partner", "result"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_gateway_refusals_total",
			Help: "Requests refused by the gateway, by reason.",
		}, []string{"reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ketenbus_gateway_request_duration_seconds",
			Help:    "Time to accept a request, until JetStream stored its events, by mode.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"mode"}),
	}
	reg.MustRegister(m.events, m.refusals, m.duration)
	return m
}

// eventLabel returns the event label of an event of type t: its
// "<event>.<version>" ("signaal.v1"), as the router's metrics name it.
func eventLabel(t string) string {
	if event, version, ok := events.SplitType(t); ok {
		return event + "." + version
	}
	return "unknown"
}
