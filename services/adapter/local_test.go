package adapter_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
)

func withID(id string) eventOption {
	return func(e *cloudevents.Event) { _ = e.Context.SetID(id) }
}

// TestLocalFailuresNeverCountAgainstThePartner: deliveries that an older
// gateway accepted with a control character in an attribute can never be
// sent. Stored straight on DELIVERY, each goes to the DLQ at its first
// attempt, without a request, with a reason that says which attribute
// holds what; the partner's breaker stays closed, and a healthy delivery
// behind them reaches the partner, although the breaker's cooldown is
// far longer than the test.
func TestLocalFailuresNeverCountAgainstThePartner(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.addSink(t, "alpha", region.Webhook{}, nil)
	reg, _ := f.run(t, func(c *adapter.Config) {
		c.Breaker = adapter.BreakerConfig{Failures: 2, Cooldown: time.Hour}
	})

	bad := []struct {
		opt  eventOption
		want string
	}{
		{withID("bad\n1"), "event attribute id: forbidden character: the control character U+000A (line feed) at character 4"},
		{withID("bad\x002"), "event attribute id: forbidden character: the control character U+0000 (NUL) at character 4"},
		{withID("bad\x1b[31m3"), "event attribute id: forbidden character: the control character U+001B (escape) at character 4"},
		{withExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"), "event attribute traceparent: forbidden character"},
		{withSubject("ae10\x00"), "event attribute subject: forbidden character"},
	}
	reasons := map[string]string{}
	for _, b := range bad {
		p := f.publish(t, "alpha", "signalen", b.opt)
		reasons[p.msgID] = b.want
	}
	healthy := f.publish(t, "alpha", "signalen")

	letters := f.dlq(t, len(bad), 5*time.Second)
	for _, m := range letters {
		id := m.Header.Get(jetstream.MsgIDHeader)
		want, ok := reasons[id]
		if !ok {
			t.Errorf("unexpected dead letter %s", id)
			continue
		}
		if got := m.Header.Get(bus.HeaderDLQReason); !strings.Contains(got, "request cannot be sent: "+want) {
			t.Errorf("dead letter %s: reason %q, want …%s…", id, got, want)
		}
		if got := m.Header.Get(bus.HeaderDLQAttempts); got != "1" {
			t.Errorf("dead letter %s: %s attempts, want 1 (at once)", id, got)
		}
		if m.Header.Get(bus.HeaderDLQStatus) != "" {
			t.Errorf("dead letter %s has a status: no request was made", id)
		}
	}
	posts := s.posts(t, 1, 5*time.Second)
	if len(posts) != 1 || eventID(t, posts[0].body) != healthy.id {
		t.Errorf("the sink received %d POSTs, want only the healthy delivery", len(posts))
	}
	if v := metrictest.Value(t, reg, "ketenbus_adapter_circuit_open", map[string]string{"partner": "alpha"}); v != 0 {
		t.Errorf("circuit open = %v, want 0: local failures counted against the partner", v)
	}
	if v := outcome(t, reg, "alpha", "retry"); v != 0 {
		t.Errorf("%v retries, want none", v)
	}
	if n := len(s.requests(http.MethodPost)); n != 1 {
		t.Errorf("the sink received %d POSTs, want 1", n)
	}
}
