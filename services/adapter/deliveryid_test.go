package adapter_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// TestWebhookIDIsTheDeliveryID: webhook-id is the delivery's
// Ketenbus-Delivery-Id, or, for a delivery stored before the router set
// it, the id derived the same way; the request names the partner and the
// subscription. A dead letter keeps the delivery id, and its retry from
// the DLQ carries the same webhook-id as the first attempt.
func TestWebhookIDIsTheDeliveryID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.addSink(t, "alpha", region.Webhook{}, func(w http.ResponseWriter, r *http.Request, n int) {
		if n <= 2 {
			http.Error(w, "not now", http.StatusBadRequest) // to the DLQ at once
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	f.run(t, nil)

	const routed = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	withHeader := f.publishWith(t, "alpha", "signalen", map[string]string{bus.HeaderDeliveryID: routed})
	older := f.publish(t, "alpha", "andere") // no header: derived, the same as its Nats-Msg-Id
	first := s.posts(t, 2, 5*time.Second)
	want := map[string]string{withHeader.id: routed, older.id: older.msgID}
	subscription := map[string]string{withHeader.id: "signalen", older.id: "andere"}
	for _, r := range first {
		id := eventID(t, r.body)
		if got := r.header.Get(webhook.HeaderID); got != want[id] {
			t.Errorf("event %s: webhook-id %q, want the delivery id %q", id, got, want[id])
		}
		if r.verifyErr != nil {
			t.Errorf("event %s: signature: %v", id, r.verifyErr)
		}
		if got := r.header.Get("Ketenbus-Subscription"); got != subscription[id] {
			t.Errorf("event %s: Ketenbus-Subscription %q, want %q", id, got, subscription[id])
		}
		if got := r.header.Get("Ketenbus-Partner"); got != "alpha" {
			t.Errorf("event %s: Ketenbus-Partner %q, want alpha", id, got)
		}
	}

	letters := f.dlq(t, 2, 5*time.Second)
	for _, m := range letters {
		id := eventID(t, m.Data)
		if got := m.Header.Get(bus.HeaderDeliveryID); got != want[id] {
			t.Errorf("dead letter of %s: Ketenbus-Delivery-Id %q, want %q", id, got, want[id])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	store, err := dlq.Open(ctx, f.env.JS)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range letters {
		l, err := store.Get(ctx, "alpha", m.Sequence)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.env.JS.PublishMsg(ctx, l.Redelivery(time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	retried := s.posts(t, 4, 5*time.Second)[2:]
	for _, r := range retried {
		id := eventID(t, r.body)
		if got := r.header.Get(webhook.HeaderID); got != want[id] {
			t.Errorf("DLQ retry of %s: webhook-id %q, want the first attempt's %q", id, got, want[id])
		}
	}
}
