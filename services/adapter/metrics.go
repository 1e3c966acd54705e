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
	"github.com/ketenbus/ketenbus/services/shared/scrape"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
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
	r := telemetry.NewMetrics(reg)
	return &metrics{
		deliveries: r.CounterVec("ketenbus_adapter_deliveries_total",
			"Delivery outcomes by partner: delivered, retry (nacked for a later attempt), dlq, retired (dead letter of a retired subscription).", "partner", "outcome"),
		latency: r.HistogramVec("ketenbus_adapter_delivery_seconds",
			"Duration of one webhook request, whatever its outcome.", prometheus.ExponentialBuckets(0.001, 2, 16), "partner"),
		circuitOpen: r.GaugeVec("ketenbus_adapter_circuit_open",
			"1 while the partner's circuit breaker is open or half-open, else 0.", "partner"),
		retired: r.CounterVec("ketenbus_adapter_subscriptions_retired_total",
			"Subscriptions retired because the endpoint answered 410 Gone.", "partner", "subscription"),
		handshakePending: r.GaugeVec("ketenbus_adapter_handshake_pending",
			"1 while deliveries to the partner wait for a successful abuse-protection handshake.", "partner"),
	}
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
// A read NATS does not answer within scrape.Timeout leaves its samples out
// and counts one ketenbus_scrape_errors_total{source="nats"}. It adds
// nothing to the delivery path. Collect is safe for concurrent use.
type streamGauges struct {
	js       jetstream.JetStream
	partners []string
	dlq      *prometheus.Desc
	pending  *prometheus.Desc
	failed   prometheus.Counter
}

var _ prometheus.Collector = (*streamGauges)(nil)

func newStreamGauges(reg prometheus.Registerer, js jetstream.JetStream, ids []string) *streamGauges {
	return &streamGauges{
		js:       js,
		partners: ids,
		dlq: prometheus.NewDesc("ketenbus_dlq_messages",
			"Dead letters on the DLQ stream by partner: deliveries that failed for good and were not yet retried or deleted; no sample while NATS does not answer.",
			[]string{"partner"}, nil),
		pending: prometheus.NewDesc("ketenbus_adapter_pending_deliveries",
			"Deliveries on DELIVERY the partner's consumer has not acked: not yet sent, in flight, or waiting for a retry; no sample while NATS does not answer.",
			[]string{"partner"}, nil),
		failed: scrape.Errors(reg).WithLabelValues(scrape.NATS),
	}
}

// Describe implements prometheus.Collector.
func (g *streamGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.dlq
	ch <- g.pending
}

// Collect implements prometheus.Collector: one request for the DLQ counts
// and one per partner consumer, concurrently, all within scrape.Timeout.
func (g *streamGauges) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrape.Timeout)
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
	if err != nil {
		g.failed.Inc()
		return
	}
	for _, id := range g.partners {
		ch <- prometheus.MustNewConstMetric(g.dlq, prometheus.GaugeValue, float64(counts[id]), id)
	}
}

func (g *streamGauges) collectPending(ctx context.Context, ch chan<- prometheus.Metric, id string) {
	n, found, err := streams.Backlog(ctx, g.js, events.StreamDelivery, bus.AdapterConsumer(id))
	if err != nil {
		g.failed.Inc()
		return
	}
	if found {
		ch <- prometheus.MustNewConstMetric(g.pending, prometheus.GaugeValue, float64(n), id)
	}
}
