package samenloop

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/scrape"
)

type metrics struct {
	signalen   *prometheus.CounterVec
	joined     prometheus.Counter
	events     prometheus.Counter
	removed    *prometheus.CounterVec
	refused    prometheus.Counter
	projection projection.Metrics
}

func newMetrics(reg prometheus.Registerer, s *Service) *metrics {
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
		projection: projection.NewMetrics("samenloop", "the samenloop index"),
	}
	reg.MustRegister(m.projection.Collectors()...)
	reg.MustRegister(m.signalen, m.joined, m.events, m.removed, m.refused,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ketenbus_samenloop_ready",
			Help: "1 while Redis answers the samenloop service, 0 while it does not (events are then not acked).",
		}, func() float64 {
			if s.Ready() {
				return 1
			}
			return 0
		}),
		scrape.NewGauge("ketenbus_samenloop_persons",
			"Persons with active signalen in the index; no sample while Redis does not answer.",
			scrape.Errors(reg), scrape.Redis,
			func(ctx context.Context) (float64, bool, error) {
				n, err := s.unguarded.Persons(ctx)
				return float64(n), true, err
			}))
	return m
}
