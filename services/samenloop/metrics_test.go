package samenloop_test

import (
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/scrape"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
)

// TestPersonsGauge: ketenbus_samenloop_persons counts the persons in the
// index at scrape time, and has no sample (without hanging the scrape)
// while Redis is away, counted in ketenbus_scrape_errors_total.
func TestPersonsGauge(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s, _ := f.start(t)
	f.signaal(t, signaal{partner: "politie", id: "p-1", at: t0})
	f.waitIndexed(t, s, 1)
	if got := metrictest.Value(t, f.metrics, "ketenbus_samenloop_persons", nil); got != 1 {
		t.Fatalf("ketenbus_samenloop_persons = %v with one signaal, want 1", got)
	}
	redisErrors := map[string]string{"source": scrape.Redis}
	if got := metrictest.Value(t, f.metrics, scrape.ErrorsName, redisErrors); got != 0 {
		t.Fatalf("%s = %v while Redis answers, want 0", scrape.ErrorsName, got)
	}

	f.redis.Stop()
	metrictest.WantUnanswered(t, f.metrics, scrape.Redis, 1, "ketenbus_samenloop_persons")
}
