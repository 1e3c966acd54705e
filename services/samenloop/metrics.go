package samenloop

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

type metrics struct {
	signalen *prometheus.CounterVec
	joined   prometheus.Counter
	events   prometheus.Counter
	removed  *prometheus.CounterVec
	refused  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	r := telemetry.NewMetrics(reg)
	return &metrics{
		signalen: r.CounterVec("ketenbus_samenloop_signalen_total",
			"Signalen handled, by result: joined (the partner joined a samenloop) or nothing (alone, already involved, or outside the window).", "result"),
		joined: r.Counter("ketenbus_samenloop_joined_total",
			"Partners that joined a samenloop."),
		events: r.Counter("ketenbus_samenloop_events_total",
			"Samenloop events stored on EVENTS (redeliveries included; JetStream drops their duplicates)."),
		removed: r.CounterVec("ketenbus_samenloop_signalen_removed_total",
			"Signalen that left the index, by reason: afgerond (bevestiging) or verlopen (window passed).", "reason"),
		refused: r.Counter("ketenbus_samenloop_removals_refused_total",
			"Bevestigingen afgerond on a signaal from a partner that neither signalled it nor is the regievoerder."),
	}
}
