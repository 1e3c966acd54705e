package escalator_test

import (
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/scrape"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
)

// TestTimersPendingGauge: ketenbus_escalator_timers_pending counts the
// terms watched in Redis at scrape time, and has no sample (without
// hanging the scrape) while Redis is away, counted in
// ketenbus_scrape_errors_total.
func TestTimersPendingGauge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted)
	e, _ := f.start(t)
	if got := gauge(t, f, "ketenbus_escalator_timers_pending"); got != 0 {
		t.Fatalf("ketenbus_escalator_timers_pending = %v before any aanmelding, want 0", got)
	}
	f.aanmelding(t, "a-1", posted, 5)
	f.aanmelding(t, "a-2", posted, 5)
	waitTimer(t, e, sourcePolitie, "a-1", true)
	waitTimer(t, e, sourcePolitie, "a-2", true)
	if got := gauge(t, f, "ketenbus_escalator_timers_pending"); got != 2 {
		t.Fatalf("ketenbus_escalator_timers_pending = %v with two terms, want 2", got)
	}
	f.bevestiging(t, "ggz", sourceGGZ, "b-1", "a-1", "opgepakt")
	waitTimer(t, e, sourcePolitie, "a-1", false)
	if got := gauge(t, f, "ketenbus_escalator_timers_pending"); got != 1 {
		t.Fatalf("ketenbus_escalator_timers_pending = %v after a bevestiging, want 1", got)
	}

	if got := metrictest.Value(t, f.Metrics, scrape.ErrorsName, map[string]string{"source": scrape.Redis}); got != 0 {
		t.Fatalf("%s = %v while Redis answers, want 0", scrape.ErrorsName, got)
	}

	f.Redis.Stop()
	metrictest.WantUnanswered(t, f.Metrics, scrape.Redis, 1, "ketenbus_escalator_timers_pending")
}
