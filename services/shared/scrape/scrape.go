package scrape

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Timeout bounds what one collector asks NATS or Redis at a scrape, so an
// unreachable one never hangs the scrape.
const Timeout = 2 * time.Second

// Values of the source label of ketenbus_scrape_errors_total: what did
// not answer.
const (
	NATS  = "nats"
	Redis = "redis"
)

// ErrorsName is the name of the counter Errors returns.
const ErrorsName = "ketenbus_scrape_errors_total"

// Errors returns ketenbus_scrape_errors_total{source}, registered on reg.
// Every collector of a process counts into this one counter: when another
// service registered it on reg before (every service on one registry, as
// in ketenbus dev), Errors returns that one. It panics, as
// reg.MustRegister does, when reg holds another metric of that name.
func Errors(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: ErrorsName,
		Help: "Reads at scrape time that got no answer in time, by source (nats, redis); the gauge they feed has no sample at that scrape.",
	}, []string{"source"})
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing
		}
	}
	panic(err)
}

// ReadFunc reads a gauge's value at scrape time. ok false, without an
// error, means there is nothing to report (a consumer that does not exist
// yet): the gauge has no sample, and nothing is counted.
type ReadFunc func(ctx context.Context) (v float64, ok bool, err error)

// Gauge is a prometheus.Collector of one gauge without labels that read
// gives at each scrape, within Timeout. A read that fails leaves the
// sample out and counts one ketenbus_scrape_errors_total of its source.
// Collect is safe for concurrent use when read is.
type Gauge struct {
	desc   *prometheus.Desc
	read   ReadFunc
	failed prometheus.Counter
}

var _ prometheus.Collector = (*Gauge)(nil)

// NewGauge returns the Gauge name, described by help, that read gives;
// source (NATS or Redis) is what read asks, errs the counter of Errors.
// The source's series of errs starts at 0.
func NewGauge(name, help string, errs *prometheus.CounterVec, source string, read ReadFunc) *Gauge {
	return &Gauge{
		desc:   prometheus.NewDesc(name, help, nil, nil),
		read:   read,
		failed: errs.WithLabelValues(source),
	}
}

// Describe implements prometheus.Collector.
func (g *Gauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector.
func (g *Gauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	v, ok, err := g.read(ctx)
	if err != nil {
		g.failed.Inc()
		return
	}
	if ok {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
	}
}
