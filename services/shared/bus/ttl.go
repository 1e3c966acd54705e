package bus

import (
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SetTTL gives a message a per-message TTL (Nats-TTL): JetStream removes
// it d after storing it. JetStream counts whole seconds, at least one; a
// d of zero or less sets no TTL.
func SetTTL(h nats.Header, d time.Duration) {
	if v := TTLValue(d); v != nil {
		h[jetstream.MsgTTLHeader] = v
	}
}

// TTLValue returns the Nats-TTL header value SetTTL sets for d (nil for
// none), for messages that share it: read it, never write.
func TTLValue(d time.Duration) []string {
	if d <= 0 {
		return nil
	}
	return []string{strconv.FormatInt(int64(max(d, time.Second)/time.Second), 10)}
}

// Remaining returns what is left at now of a retention that began at
// start: a message derived from one stored at start (a delivery from its
// event, a dead letter from its delivery) expires with it. It is at least
// one second, so the derived message is stored and then removed.
func Remaining(retention time.Duration, start, now time.Time) time.Duration {
	if start.IsZero() {
		return retention
	}
	return max(retention-now.Sub(start), time.Second)
}

// ParseTTL reads a Nats-TTL header value: whole seconds, or a Go duration;
// ok is false when it is absent, malformed or not positive ("never").
func ParseTTL(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(n) * time.Second, n > 0
	}
	d, err := time.ParseDuration(v)
	return d, err == nil && d > 0
}
