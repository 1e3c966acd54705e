package adapter

import "github.com/prometheus/client_golang/prometheus"

// Values of the outcome label of ketenbus_adapter_deliveries_total.
const (
	outcomeDelivered = "delivered"
	outcomeRetry     = "retry"
	outcomeDLQ       = "dlq"
	outcomeRetired   = "retired"
)

type metrics struct {
	deliveries       *prometheus.CounterVec
	latency          *prometheus.HistogramVec
	circuitOpen      *prometheus.GaugeVec
	retired          *prometheus.CounterVec
	handshakePending *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_adapter_deliveries_total",
			Help: "Delivery outcomes by partner: delivered, retry (nacked for a later attempt), dlq, retired (dead letter of a retired subscription).",
		}, []string{"partner", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ketenbus_adapter_delivery_seconds",
			Help:    "Duration of one webhook request, whatever its outcome.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"partner"}),
		circuitOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ketenbus_adapter_circuit_open",
			Help: "1 while the partner's circuit breaker is open or half-open, else 0.",
		}, []string{"partner"}),
		retired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_adapter_subscriptions_retired_total",
			Help: "Subscriptions retired because the endpoint answered 410 Gone.",
		}, []string{"partner", "subscription"}),
		handshakePending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ketenbus_adapter_handshake_pending",
			Help: "1 while deliveries to the partner wait for a successful abuse-protection handshake.",
		}, []string{"partner"}),
	}
	reg.MustRegister(m.deliveries, m.latency, m.circuitOpen, m.retired, m.handshakePending)
	return m
}
