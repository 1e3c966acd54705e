package adapter_test

import (
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// TestDeadLetterKeepsNoAnswerOfASensitiveSubscription: a subscription that
// lists bsn gets it opened, and an endpoint may echo it in its answer; that
// answer is not kept in the DLQ. The same answer to a subscription without
// sensitive fields is.
func TestDeadLetterKeepsNoAnswerOfASensitiveSubscription(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	key := make([]byte, region.KeySize)
	_, _ = rand.Read(key)
	f.secrets.EncryptionKeys = [][]byte{key}
	for _, id := range []string{"open", "plain"} {
		f.addSink(t, id, region.Webhook{}, func(w http.ResponseWriter, r *http.Request, _ int) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte("rejected what you sent"))
		})
		p := &f.region.Partners[len(f.region.Partners)-1]
		sub := region.Subscription{Name: "signalen", Types: []string{events.TypeSignaal}, Purpose: "urn:nld:test:verwerkingsactiviteit:signalen"}
		if id == "open" {
			sub.Fields = []string{"bsn", "categorie"}
		}
		p.Subscriptions = []region.Subscription{sub}
	}
	f.run(t, nil)
	f.publish(t, "open", "signalen")
	f.publish(t, "plain", "signalen")
	got := map[string]string{}
	for _, m := range f.dlq(t, 2, 5*time.Second) {
		got[m.Header.Get(bus.HeaderPartner)] = m.Header.Get(bus.HeaderDLQBody)
	}
	if got["plain"] != "rejected what you sent" || got["open"] != "" {
		t.Fatalf("body excerpts %q, want the answer only for the subscription without sensitive fields", got)
	}
}
