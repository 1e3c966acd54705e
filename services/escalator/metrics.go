package escalator

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	scheduled    *prometheus.CounterVec
	acknowledged *prometheus.CounterVec
	foreign      prometheus.Counter
	fired        *prometheus.CounterVec
	lag          prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		scheduled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_escalator_terms_started_total",
			Help: "Terms started, by kind (aanmelding, overdracht).",
		}, []string{"kind"}),
		acknowledged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_escalator_terms_acknowledged_total",
			Help: "Terms stopped by a bevestiging of the ontvanger, by kind.",
		}, []string{"kind"}),
		foreign: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ketenbus_escalator_foreign_bevestigingen_total",
			Help: "Bevestigingen from a partner that was not the ontvanger; they change nothing.",
		}),
		fired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_escalator_escalaties_total",
			Help: "Timer levels fired (each publishes one escalatie per partner of the level), by niveau.",
		}, []string{"niveau"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ketenbus_escalator_lag_seconds",
			Help:    "Time from a timer's due time until its escalaties were stored.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
	}
	reg.MustRegister(m.scheduled, m.acknowledged, m.foreign, m.fired, m.lag)
	return m
}
