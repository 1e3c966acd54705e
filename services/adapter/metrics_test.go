package adapter_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/scrape"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// TestStreamGauges: ketenbus_dlq_messages and
// ketenbus_adapter_pending_deliveries show, per partner, what the DLQ and
// DELIVERY streams hold, and no samples (without hanging the scrape) once
// NATS is gone, each read that got no answer counted in
// ketenbus_scrape_errors_total.
func TestStreamGauges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addSink(t, "alpha", region.Webhook{}, statuses(http.StatusBadRequest)) // straight to the DLQ
	f.addSink(t, "beta", region.Webhook{}, nil)
	reg, stop := f.run(t, nil)

	f.publish(t, "alpha", "signalen")
	f.publish(t, "beta", "signalen")
	f.dlq(t, 1, 5*time.Second)
	runtest.Eventually(t, 5*time.Second, "beta delivered", func() bool { return outcome(t, reg, "beta", "delivered") == 1 })
	runtest.Eventually(t, 5*time.Second, "both deliveries acked", func() bool {
		g := partnerGauges(t, reg)
		return g["ketenbus_adapter_pending_deliveries"]["alpha"] == 0 && g["ketenbus_adapter_pending_deliveries"]["beta"] == 0
	})
	g := partnerGauges(t, reg)
	wantGauges(t, g, "ketenbus_dlq_messages", map[string]float64{"alpha": 1, "beta": 0})
	wantGauges(t, g, "ketenbus_adapter_pending_deliveries", map[string]float64{"alpha": 0, "beta": 0})

	// Stopped, the adapter leaves new deliveries pending on its consumers.
	stop()
	f.publish(t, "beta", "signalen")
	f.publish(t, "beta", "signalen")
	// The consumer's pending count follows the stream a moment later.
	runtest.Eventually(t, 5*time.Second, "beta's two deliveries pending", func() bool {
		return partnerGauges(t, reg)["ketenbus_adapter_pending_deliveries"]["beta"] == 2
	})
	g = partnerGauges(t, reg)
	wantGauges(t, g, "ketenbus_dlq_messages", map[string]float64{"alpha": 1, "beta": 0})
	wantGauges(t, g, "ketenbus_adapter_pending_deliveries", map[string]float64{"alpha": 0, "beta": 2})

	if got := metrictest.Value(t, reg, scrape.ErrorsName, map[string]string{"source": scrape.NATS}); got != 0 {
		t.Fatalf("%s = %v while NATS answers, want 0", scrape.ErrorsName, got)
	}

	f.env.Server.Shutdown()
	// The DLQ count and the two consumers go unanswered.
	metrictest.WantUnanswered(t, reg, scrape.NATS, 3, "ketenbus_dlq_messages", "ketenbus_adapter_pending_deliveries")
}

// TestStreamGaugesBeforeRun: before the adapter ever ran there are no
// consumers, so no pending samples, but every partner has its DLQ count.
func TestStreamGaugesBeforeRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.addPartner(t, "alpha", region.Webhook{URL: "http://127.0.0.1:1/alpha"})
	f.addPartner(t, "beta", region.Webhook{URL: "http://127.0.0.1:1/beta"})
	reg := prometheus.NewRegistry()
	if _, err := adapter.New(adapter.Config{Region: f.region, Secrets: f.secrets, JetStream: f.env.JS, Metrics: reg}); err != nil {
		t.Fatal(err)
	}
	g := partnerGauges(t, reg)
	wantGauges(t, g, "ketenbus_dlq_messages", map[string]float64{"alpha": 0, "beta": 0})
	wantGauges(t, g, "ketenbus_adapter_pending_deliveries", map[string]float64{})
}

// partnerGauges gathers reg and returns the value of every gauge sample
// by metric name and partner label.
func partnerGauges(t *testing.T, reg *prometheus.Registry) map[string]map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetGauge() == nil {
				continue
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == "partner" {
					if out[mf.GetName()] == nil {
						out[mf.GetName()] = map[string]float64{}
					}
					out[mf.GetName()][l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

// wantGauges fails unless the samples of name are exactly want.
func wantGauges(t *testing.T, got map[string]map[string]float64, name string, want map[string]float64) {
	t.Helper()
	if len(got[name]) != len(want) {
		t.Errorf("%s = %v, want %v", name, got[name], want)
		return
	}
	for p, v := range want {
		if g, ok := got[name][p]; !ok || g != v {
			t.Errorf("%s = %v, want %v", name, got[name], want)
			return
		}
	}
}
