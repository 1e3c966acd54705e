package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics makes a service's Prometheus metrics and registers each on the
// service's registerer as it is made, one call a metric, so that no list
// of what to register can fall behind the metrics themselves. It panics,
// as prometheus.MustRegister does, on a name registered twice.
type Metrics struct{ f promauto.Factory }

// NewMetrics returns the Metrics that register on reg.
func NewMetrics(reg prometheus.Registerer) Metrics { return Metrics{promauto.With(reg)} }

// Counter makes and registers a counter.
func (m Metrics) Counter(name, help string) prometheus.Counter {
	return m.f.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

// CounterVec makes and registers a counter with labels.
func (m Metrics) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return m.f.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// GaugeVec makes and registers a gauge with labels.
func (m Metrics) GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return m.f.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
}

// Histogram makes and registers a histogram with buckets.
func (m Metrics) Histogram(name, help string, buckets []float64) prometheus.Histogram {
	return m.f.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
}

// HistogramVec makes and registers a histogram with buckets and labels.
func (m Metrics) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return m.f.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
}
