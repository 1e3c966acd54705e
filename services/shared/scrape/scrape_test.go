package scrape_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ketenbus/ketenbus/services/shared/scrape"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
)

// TestGauge: a read gives the sample; a read with nothing to report gives
// none; a failed read gives none and counts one error of its source.
func TestGauge(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		v       float64
		ok      bool
		err     error
		samples int
		errors  float64
	}{
		"value":      {v: 7, ok: true, samples: 1},
		"zero":       {v: 0, ok: true, samples: 1},
		"nothing":    {ok: false},
		"no answer":  {ok: true, err: context.DeadlineExceeded, errors: 1},
		"read error": {err: errors.New("connection refused"), errors: 1},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			g := scrape.NewGauge("ketenbus_test_gauge", "A gauge of the test.", scrape.Errors(reg), scrape.Redis,
				func(ctx context.Context) (float64, bool, error) {
					if _, ok := ctx.Deadline(); !ok {
						t.Error("read without a deadline")
					}
					return tc.v, tc.ok, tc.err
				})
			reg.MustRegister(g)
			if n, err := testutil.GatherAndCount(reg, "ketenbus_test_gauge"); err != nil || n != tc.samples {
				t.Fatalf("%d samples (%v), want %d", n, err, tc.samples)
			}
			// One scrape so far: the errors it counted.
			if got := testutil.ToFloat64(scrape.Errors(reg).WithLabelValues(scrape.Redis)); got != tc.errors {
				t.Errorf("%s{source=redis} = %v, want %v", scrape.ErrorsName, got, tc.errors)
			}
			if got := testutil.ToFloat64(scrape.Errors(reg).WithLabelValues(scrape.NATS)); got != 0 {
				t.Errorf("%s{source=nats} = %v, want 0", scrape.ErrorsName, got)
			}
			if tc.samples == 1 {
				if got := metrictest.Value(t, reg, "ketenbus_test_gauge", nil); got != tc.v {
					t.Errorf("ketenbus_test_gauge = %v, want %v", got, tc.v)
				}
			}
		})
	}
}

// TestErrorsShared: every service on one registry (ketenbus dev) counts
// into one ketenbus_scrape_errors_total, whose series of a source starts
// at 0.
func TestErrorsShared(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	first := scrape.Errors(reg)
	if second := scrape.Errors(reg); second != first {
		t.Fatal("a second Errors on one registry returned another counter")
	}
	scrape.NewGauge("ketenbus_test_gauge", "A gauge of the test.", first, scrape.NATS,
		func(context.Context) (float64, bool, error) { return 0, true, nil })
	if n, err := testutil.GatherAndCount(reg, scrape.ErrorsName); err != nil || n != 1 {
		t.Fatalf("%s: %d series (%v), want the one of nats, at 0", scrape.ErrorsName, n, err)
	}

	other := prometheus.NewRegistry()
	other.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: scrape.ErrorsName, Help: "Another metric of that name."}))
	defer func() {
		if recover() == nil {
			t.Error("Errors did not panic on a registry holding another metric of its name")
		}
	}()
	scrape.Errors(other)
}
