package adapter_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"

	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// TestActivityRecords: every attempt that ends and every change of the
// circuit breaker is published on the partner's activity subject, with
// the HTTP status and the reason but never the answer's body, nor a BSN
// in an event id.
func TestActivityRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const body = "Jansen-Geheim staat niet in ons systeem"
	s := f.addSink(t, "alpha", region.Webhook{}, answers(func(*http.Request) string { return body },
		http.StatusInternalServerError, http.StatusNoContent, http.StatusBadRequest))

	var mu sync.Mutex
	var records []activity.Record
	var raw []string
	sub, err := f.env.Conn.Subscribe(activity.Subject("alpha"), func(m *nats.Msg) {
		r, err := activity.Decode(m.Data)
		if err != nil {
			t.Errorf("activity record: %v", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		records = append(records, r)
		raw = append(raw, string(m.Data))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	f.run(t, func(c *adapter.Config) {
		c.Breaker = adapter.BreakerConfig{Failures: 1, Cooldown: 50 * time.Millisecond}
	})

	attempts := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, r := range records {
			if r.Kind == activity.KindAttempt {
				n++
			}
		}
		return n
	}
	first := f.publish(t, "alpha", "signalen")
	s.posts(t, 2, 5*time.Second)
	// The delivered attempt's record comes after the sink answered: wait
	// for it, so the records come in the order of the attempts.
	runtest.Eventually(t, 5*time.Second, "the first event's two attempt records", func() bool { return attempts() == 2 })
	// The publisher put the BSN in its event id.
	f.publish(t, "alpha", "signalen", func(e *cloudevents.Event) { e.SetID("melding-" + testBSNs[0]) })
	f.dlq(t, 1, 5*time.Second)

	type attempt struct {
		event, outcome string
		status         int
	}
	want := []attempt{
		{first.id, activity.OutcomeRetry, 500},
		{first.id, activity.OutcomeDelivered, 204},
		{"melding-[bsn]", activity.OutcomeDLQ, 400},
	}
	var circuits []string
	runtest.Eventually(t, 5*time.Second, "three attempt records", func() bool { return attempts() == len(want) })
	mu.Lock()
	defer mu.Unlock()
	var got []attempt
	for _, r := range records {
		if r.Partner != "alpha" || r.Time.IsZero() {
			t.Errorf("record %+v lacks partner or time", r)
		}
		switch r.Kind {
		case activity.KindAttempt:
			got = append(got, attempt{r.EventID, r.Outcome, r.Status})
			if r.Subscription != "signalen" || r.EventType != "nl.sociaaldomein.signaal.v1" || r.Attempt < 1 {
				t.Errorf("attempt record %+v, want subscription, event type and attempt number", r)
			}
			if r.Failed() != (r.Outcome != activity.OutcomeDelivered) || (r.Failed() && r.Reason == "") {
				t.Errorf("attempt record %+v: a failure names its reason", r)
			}
		case activity.KindCircuit:
			circuits = append(circuits, r.Circuit)
		default:
			t.Errorf("record of kind %q", r.Kind)
		}
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("attempts %+v, want %+v", got, want)
		}
	}
	if len(circuits) == 0 || circuits[0] != activity.CircuitOpen {
		t.Errorf("circuit records %v, want the breaker opening after the first failure", circuits)
	}
	for _, r := range raw {
		if strings.Contains(r, "Jansen") || strings.Contains(r, first.bsn) {
			t.Errorf("activity record holds the answer's body or event data: %s", r)
		}
	}
}
