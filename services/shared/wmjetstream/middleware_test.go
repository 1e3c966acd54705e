package wmjetstream_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/wmjetstream"
)

// TestConsumeRecoversPanic: a handler that panics nacks its message, which
// comes back after the backoff; the process goes on, and the log names
// the panic by its type, never by its value (made from the message here).
func TestConsumeRecoversPanic(t *testing.T) {
	t.Parallel()
	env, _ := setup(t, time.Second)
	logger, logs := logtest.New()
	const secret = "bsn 123456782"
	var calls atomic.Int32
	done := make(chan time.Time, 1)
	var first time.Time
	h := func(msg *message.Message) error {
		if calls.Add(1) == 1 {
			first = time.Now()
			panic(string(msg.Payload))
		}
		done <- time.Now()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() {
		stopped <- wmjetstream.Consume(ctx, env.JS, stream, jetstream.ConsumerConfig{Durable: "p", FilterSubject: subject,
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 8}, "panicky", logger, h)
	}()
	publish(t, env, secret)
	select {
	case again := <-done:
		if d := again.Sub(first); d < wmjetstream.Backoff(1)-100*time.Millisecond {
			t.Errorf("the message came back after %v, want the backoff %v", d, wmjetstream.Backoff(1))
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the message never came back after the panic (%d calls); log:\n%s", calls.Load(), logs)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatalf("Consume: %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, "handler panicked") || !strings.Contains(out, `"panic":"string"`) {
		t.Errorf("log does not say the handler panicked with a string:\n%s", out)
	}
	if strings.Contains(out, "123456782") {
		t.Errorf("log holds the panic's value, made from the message:\n%s", out)
	}
}
