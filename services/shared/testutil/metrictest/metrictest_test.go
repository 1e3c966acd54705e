package metrictest_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
)

func TestValue(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "things_total"}, []string{"reason"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "level"})
	reg.MustRegister(c, g)
	c.WithLabelValues("a").Add(2)
	c.WithLabelValues("b").Inc()
	g.Set(7)
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"things_total", map[string]string{"reason": "a"}, 2},
		{"things_total", map[string]string{"reason": "b"}, 1},
		{"things_total", map[string]string{"reason": "c"}, 0},
		{"level", nil, 7},
		{"missing", nil, 0},
	} {
		if got := metrictest.Value(t, reg, tt.name, tt.labels); got != tt.want {
			t.Errorf("Value(%s, %v) = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
}
