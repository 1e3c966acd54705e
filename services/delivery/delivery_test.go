package delivery

import (
	"strings"
	"testing"
)

// TestMsgIDIsStable: DELIVERY and the DLQ hold messages with these ids,
// and JetStream dedupes a republished delivery by them; the same inputs
// must give the same id in every version.
func TestMsgIDIsStable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ partner, subscription, event, want string }{
		{"wijkteam", "signalen", "0f3c9a", "6a8601b178f3f6e6a681e05c8088f9a0"},
		{"p", "dlq-retry/7", strings.Repeat("x", 300), "50bdf78a73f130519a93e7bd09d1f254"},
	} {
		if got := MsgID(c.partner, c.subscription, c.event); got != c.want {
			t.Errorf("MsgID(%q, %q, %d bytes) = %s, want %s", c.partner, c.subscription, len(c.event), got, c.want)
		}
	}
}
