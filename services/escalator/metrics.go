package escalator

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

type metrics struct {
	scheduled    *prometheus.CounterVec
	acknowledged *prometheus.CounterVec
	foreign      prometheus.Counter
	fired        *prometheus.CounterVec
	lag          prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	r := telemetry.NewMetrics(reg)
	return &metrics{
		scheduled: r.CounterVec("ketenbus_escalator_terms_started_total",
			"Terms started, by kind (aanmelding, overdracht).", "kind"),
		acknowledged: r.CounterVec("ketenbus_escalator_terms_acknowledged_total",
			"Terms stopped by a bevestiging of the ontvanger, by kind.", "kind"),
		foreign: r.Counter("ketenbus_escalator_foreign_bevestigingen_total",
			"Bevestigingen from a partner that was not the ontvanger; they change nothing."),
		fired: r.CounterVec("ketenbus_escalator_escalaties_total",
			"Timer levels fired (each publishes one escalatie per partner of the level), by niveau.", "niveau"),
		lag: r.Histogram("ketenbus_escalator_lag_seconds",
			"Time from a timer's due time until its escalaties were stored.", prometheus.ExponentialBuckets(0.005, 2, 14)),
	}
}
