package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

type metrics struct {
	events   *prometheus.CounterVec
	refusals *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	r := telemetry.NewMetrics(reg)
	return &metrics{
		events: r.CounterVec("ketenbus_gateway_events_total",
			"Events accepted by the gateway, by event (name.version), partner and result (stored or duplicate).", "event", "partner", "result"),
		refusals: r.CounterVec("ketenbus_gateway_refusals_total",
			"Requests refused by the gateway, by reason.", "reason"),
		duration: r.HistogramVec("ketenbus_gateway_request_duration_seconds",
			"Time to accept a request, until JetStream stored its events, by mode.", prometheus.ExponentialBuckets(0.0005, 2, 14), "mode"),
	}
}

// eventLabel returns the event label of an event of type t: its
// "<event>.<version>" ("signaal.v1"), as the router's metrics name it.
func eventLabel(t string) string {
	if event, version, ok := events.SplitType(t); ok {
		return event + "." + version
	}
	return "unknown"
}
