package adapter

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// Values of the outcome label of ketenbus_adapter_deliveries_total: the
// outcomes of the activity log.
const (
	outcomeDelivered = activity.OutcomeDelivered
	outcomeRetry     = activity.OutcomeRetry
	outcomeDLQ       = activity.OutcomeDLQ
	outcomeRetired   = activity.OutcomeRetired
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

// streamGauges is a prometheus.Collector that reads, at scrape time, what
// JetStream holds for the adapter's partners:
//
//   - ketenbus_dlq_messages{partner}: dead letters on the DLQ stream, one
//     sample per partner of the adapter, 0 when it has none;
//   - ketenbus_adapter_pending_deliveries{partner}: deliveries the
//     partner's durable consumer has not acked yet; no sample while the
//     consumer does not exist (before the first Run, or while the
//     partner's handshake is pending).
//
// A value is -1 when NATS did not answer within streams.ScrapeTimeout, the way
// ketenbus_samenloop_persons reports Redis being away. It adds nothing to
// the delivery path. Collect is safe for concurrent use.
type streamGauges struct {
	js       jetstream.JetStream
	partners []string
	dlq      *prometheus.Desc
	pending  *prometheus.Desc
}

var _ prometheus.Collector = (*streamGauges)(nil)

func newStreamGauges(js jetstream.JetStream, ids []string) *streamGauges {
	return &streamGauges{
		js:       js,
		partners: ids,
		dlq: prometheus.NewDesc("ketenbus_dlq_messages",
			"Dead letters on the DLQ stream by partner: deliveries that failed for good and were not yet retried or deleted; -1 while NATS does not answer.",
			[]string{"partner"}, nil),
		pending: prometheus.NewDesc("ketenbus_adapter_pending_deliveries",
			"Deliveries on DELIVERY the partner's consumer has not acked: not yet sent, in flight, or waiting for a retry; -1 while NATS does not answer.",
			[]string{"partner"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (g *streamGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.dlq
	ch <- g.pending
}

// Collect implements prometheus.Collector: one request for the DLQ counts
// and one per partner consumer, concurrently, all within streams.ScrapeTimeout.
func (g *streamGauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), streams.ScrapeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { g.collectDLQ(ctx, ch) })
	for _, id := range g.partners {
		wg.Go(func() { g.collectPending(ctx, ch, id) })
	}
	wg.Wait()
}

func (g *streamGauges) collectDLQ(ctx context.Context, ch chan<- prometheus.Metric) {
	counts, err := dlq.Counts(ctx, g.js)
	for _, id := range g.partners {
		v := -1.0
		if err == nil {
			v = float64(counts[id])
		}
		ch <- prometheus.MustNewConstMetric(g.dlq, prometheus.GaugeValue, v, id)
	}
}

func (g *streamGauges) collectPending(ctx context.Context, ch chan<- prometheus.Metric, id string) {
	n, found, err := streams.Backlog(ctx, g.js, events.StreamDelivery, bus.AdapterConsumer(id))
	if err == nil && !found {
		return
	}
	v := -1.0
	if err == nil {
		v = float64(n)
	}
	ch <- prometheus.MustNewConstMetric(g.pending, prometheus.GaugeValue, v, id)
}
