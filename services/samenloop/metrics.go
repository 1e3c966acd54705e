package samenloop

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	signalen *prometheus.CounterVec
	joined   prometheus.Counter
	events   prometheus.Counter
	removed  *prometheus.CounterVec
	refused  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		signalen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_samenloop_signalen_total",
			Help: "Signalen handled, by result: joined (the partner joined a samenloop) or nothing (alone, already involved, or outside the window).",
		}, []string{"result"}),
		joined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ketenbus_samenloop_joined_total",
			Help: "Partners that joined a samenloop.",
		}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ketenbus_samenloop_events_total",
			Help: "Samenloop events stored on EVENTS (redeliveries included; JetStream drops their duplicates).",
		}),
		removed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ketenbus_samenloop_signalen_removed_total",
			Help: "Signalen that left the index, by reason: afgerond (bevestiging) or verlopen (window passed).",
		}, []string{"reason"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ketenbus_samenloop_removals_refused_total",
			Help: "Bevestigingen afgerond on a signaal from a partner that neither signalled it nor is the regievoerder.",
		}),
	}
	reg.MustRegister(m.signalen, m.joined, m.events, m.removed, m.refused)
	return m
}
