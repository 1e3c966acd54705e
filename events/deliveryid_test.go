package events_test

import (
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
)

// TestDeliveryIDIsStable: DELIVERY and the DLQ hold messages with these
// ids, JetStream dedupes a republished delivery by them and partners
// deduplicate on them; the same inputs must give the same id in every
// version.
func TestDeliveryIDIsStable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ partner, subscription, event, want string }{
		{"wijkteam", "signalen", "0f3c9a", "6a8601b178f3f6e6a681e05c8088f9a0"},
		{"p", "dlq-retry/7", strings.Repeat("x", 300), "50bdf78a73f130519a93e7bd09d1f254"},
	} {
		if got := events.DeliveryID(c.partner, c.subscription, c.event); got != c.want {
			t.Errorf("DeliveryID(%q, %q, %d bytes) = %s, want %s", c.partner, c.subscription, len(c.event), got, c.want)
		}
	}
}

// TestDeliveryIDKeepsSourcesApart: one id from two sources, to one
// partner's subscription, gives two delivery ids.
func TestDeliveryIDKeepsSourcesApart(t *testing.T) {
	t.Parallel()
	politie := events.DeliveryID("zvh", "signalen", events.MsgID("urn:nld:oin:00000009999999990001:systeem:bvh", "x-1"))
	ggz := events.DeliveryID("zvh", "signalen", events.MsgID("urn:nld:kvknr:99999901:systeem:epd", "x-1"))
	other := events.DeliveryID("zvh", "samenloop", events.MsgID("urn:nld:kvknr:99999901:systeem:epd", "x-1"))
	if politie == ggz || ggz == other || politie == other {
		t.Fatalf("delivery ids collide: %s %s %s", politie, ggz, other)
	}
}
