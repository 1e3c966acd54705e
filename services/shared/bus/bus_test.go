package bus_test

import (
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
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
		if got := bus.DeliveryID(c.header, "zvh", "signalen", source, "x-1"); got != c.want {
			t.Errorf("DeliveryID(header %q) = %s, want %s", c.header, got, c.want)
		}
	}
}

func TestParseTTL(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]time.Duration{"3600": time.Hour, "90s": 90 * time.Second, "": 0, "never": 0, "0": 0, "x": 0} {
		got, ok := bus.ParseTTL(v)
		if got != want && ok || ok != (want > 0) {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v", v, got, ok, want)
		}
	}
}

// TestMsgIDs pins every derived message id: a change would let JetStream
// store again what it stored before an upgrade, or drop what it should
// keep (make chaos counts duplicates by them).
func TestMsgIDs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, got, want string }{
		{"EscalatieID", bus.EscalatieID("t1", 2, "zvh"), "69880eccdd9c3da27b0074b60c36fb58"},
		{"SamenloopID", bus.SamenloopID("k1", "ggz"), "85107642d1d404368fd3605eedb62007"},
		{"ReplayMsgID", bus.ReplayMsgID("r1", "d1"), "d1-replay-r1"},
		{"DeadLetterMsgID without a msg id", bus.DeadLetterMsgID("ggz", "", 7), "867bb1716885f661afc1fdd3a8c36aa3"},
		{"DeadLetterMsgID", bus.DeadLetterMsgID("ggz", "m1", 7), "m1"},
		{"DLQRetryMsgID", bus.DLQRetryMsgID("ggz", 9, "m1"), "24789ade44eb2470a794694699f62b04"},
		{"AdapterConsumer", bus.AdapterConsumer("ggz"), "adapter-ggz"},
		{"PartnerConsumer", bus.PartnerConsumer("ggz"), "partner-ggz"},
		{"RetiredKey", bus.RetiredKey("ggz", "signalen"), "ggz.signalen"},
		{"BucketStream", bus.BucketStream(bus.RetiredBucket), "KV_ketenbus-retired"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
}
