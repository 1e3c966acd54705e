package delivery_test

import (
	"testing"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/delivery"
)

// TestDeliveryID: the header when the router set it, else what the router
// would have set for the event (source, id).
func TestDeliveryID(t *testing.T) {
	t.Parallel()
	const source = "urn:nld:oin:00000009999999990001:systeem:bvh"
	derived := events.DeliveryID("zvh", "signalen", events.MsgID(source, "x-1"))
	for _, c := range []struct{ header, want string }{
		{"", derived},
		{"0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"},
	} {
		if got := delivery.DeliveryID(c.header, "zvh", "signalen", source, "x-1"); got != c.want {
			t.Errorf("DeliveryID(header %q) = %s, want %s", c.header, got, c.want)
		}
	}
}
