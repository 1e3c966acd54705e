// Package metrictest reads what a Prometheus registry holds, for tests
// that assert a service's metrics.
package metrictest

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/services/shared/scrape"
)

// Value returns the value of the counter or gauge name in reg whose
// labels include labels (nil: any), 0 when there is none. A failing
// Gather fails the test.
func Value(tb testing.TB, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// WantUnanswered scrapes reg while source (scrape.NATS or scrape.Redis)
// does not answer and fails the test unless every gauge of names has no
// sample, the scrape did not hang (5 seconds at most), and
// ketenbus_scrape_errors_total{source} counted at least errors reads that
// got no answer.
func WantUnanswered(tb testing.TB, reg prometheus.Gatherer, source string, errors float64, names ...string) {
	tb.Helper()
	start := time.Now()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		tb.Errorf("scrape with %s away took %s", source, d)
	}
	for _, mf := range mfs {
		if slices.Contains(names, mf.GetName()) && len(mf.GetMetric()) > 0 {
			tb.Errorf("%s has %d samples with %s away, want none", mf.GetName(), len(mf.GetMetric()), source)
		}
	}
	if got := Value(tb, reg, scrape.ErrorsName, map[string]string{"source": source}); got < errors {
		tb.Errorf("%s{source=%q} = %v after a scrape with %s away, want at least %v", scrape.ErrorsName, source, got, source, errors)
	}
}
