package wmjetstream_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/wmjetstream"
)

const (
	stream  = "WMTEST"
	subject = "wmtest.in"
)

// setup starts nats-server with a stream for the tests and returns a
// Subscriber on the durable "d" (server-side ack wait 30s, so a quick
// redelivery can only come from a nack).
func setup(t *testing.T, grace time.Duration) (*natstest.Env, *wmjetstream.Subscriber) {
	t.Helper()
	env := natstest.Start(t)
	ctx := context.Background()
	if _, err := env.JS.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{"wmtest.>"}}); err != nil {
		t.Fatal(err)
	}
	sub, err := wmjetstream.NewSubscriber(env.JS, wmjetstream.SubscriberConfig{
		Stream: stream,
		Consumer: func(topic string) jetstream.ConsumerConfig {
			return jetstream.ConsumerConfig{Durable: "d", FilterSubject: topic, AckPolicy: jetstream.AckExplicitPolicy,
				AckWait: 30 * time.Second, MaxAckPending: 64}
		},
		ShutdownGrace: grace,
	})
	if err != nil {
		t.Fatal(err)
	}
	return env, sub
}

func publish(t *testing.T, env *natstest.Env, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := env.JS.Publish(context.Background(), subject, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs a Router with one handler on sub until the test ends.
func run(t *testing.T, sub *wmjetstream.Subscriber, h message.NoPublishHandlerFunc) *message.Router {
	t.Helper()
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	r.AddConsumerHandler("h", subject, sub, h)
	go func() { _ = r.Run(context.Background()) }()
	t.Cleanup(func() { _ = r.Close() })
	<-r.Running()
	return r
}

// deliveries records when each body was handed to the handler.
type deliveries struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (d *deliveries) add(body string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.at == nil {
		d.at = map[string][]time.Time{}
	}
	d.at[body] = append(d.at[body], time.Now())
	return len(d.at[body])
}

func (d *deliveries) times(body string) []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.at[body]...)
}

// settled waits until the consumer has nothing pending and nothing
// unacknowledged.
func settled(t *testing.T, env *natstest.Env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := env.JS.Consumer(context.Background(), stream, "d")
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer not settled: %d pending, %d unacknowledged, %d redelivered", info.NumPending, info.NumAckPending, info.NumRedelivered)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSettle: a handler's nil is an ack, its error a nack after the delay
// it set, its own Nack a nack, and its panic a nack.
func TestSettle(t *testing.T) {
	t.Parallel()
	env, sub := setup(t, 5*time.Second)
	var got deliveries
	const delay = 300 * time.Millisecond
	run(t, sub, func(msg *message.Message) error {
		body := string(msg.Payload)
		if got.add(body) > 1 {
			return nil
		}
		switch body {
		case "error":
			wmjetstream.SetNakDelay(msg, delay)
			return errors.New("try again later")
		case "nack":
			msg.Nack()
		case "panic":
			panic("handler bug")
		}
		return nil
	})
	publish(t, env, "ok", "error", "nack", "panic")
	deadline := time.Now().Add(10 * time.Second)
	for len(got.times("error")) < 2 || len(got.times("nack")) < 2 || len(got.times("panic")) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("deliveries: ok %d, error %d, nack %d, panic %d; want 1, 2, 2, 2",
				len(got.times("ok")), len(got.times("error")), len(got.times("nack")), len(got.times("panic")))
		}
		time.Sleep(10 * time.Millisecond)
	}
	settled(t, env)
	if n := len(got.times("ok")); n != 1 {
		t.Errorf("ok delivered %d times, want once", n)
	}
	if e := got.times("error"); e[1].Sub(e[0]) < delay {
		t.Errorf("error redelivered after %v, want at least the %v the handler set", e[1].Sub(e[0]), delay)
	}
	for _, body := range []string{"nack", "panic"} {
		if ts := got.times(body); ts[1].Sub(ts[0]) > 5*time.Second {
			t.Errorf("%s redelivered after %v, want at once (not the 30s ack wait)", body, ts[1].Sub(ts[0]))
		}
	}
}

// failOnce is a Publisher that fails its first Publish.
type failOnce struct {
	mu        sync.Mutex
	published int
	failed    bool
}

func (p *failOnce) Publish(string, ...*message.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.failed {
		p.failed = true
		return errors.New("publisher down")
	}
	p.published++
	return nil
}

func (p *failOnce) Close() error { return nil }

// TestSettleWaitsForProducedMessages: a handler's message is acked only
// after the Router published what the handler produced; a failed publish
// brings the message back.
func TestSettleWaitsForProducedMessages(t *testing.T) {
	t.Parallel()
	env, sub := setup(t, 5*time.Second)
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	pub := &failOnce{}
	var got deliveries
	r.AddHandler("h", subject, sub, "out", pub, func(msg *message.Message) ([]*message.Message, error) {
		got.add(string(msg.Payload))
		return []*message.Message{message.NewMessage(watermill.NewUUID(), msg.Payload)}, nil
	})
	go func() { _ = r.Run(context.Background()) }()
	t.Cleanup(func() { _ = r.Close() })
	<-r.Running()
	publish(t, env, "x")
	settled(t, env)
	if n := len(got.times("x")); n != 2 {
		t.Fatalf("handled %d times, want twice: the failed publish nacks it", n)
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.published != 1 {
		t.Fatalf("published %d times, want once", pub.published)
	}
}

// TestShutdownGraceNacksHungHandler: a handler still running when the
// grace after Close ends has its message nacked, so it comes back at once
// rather than after the ack wait; Close does not wait for the handler.
func TestShutdownGraceNacksHungHandler(t *testing.T) {
	t.Parallel()
	env, sub := setup(t, 200*time.Millisecond)
	started := make(chan struct{})
	release := make(chan struct{})
	run(t, sub, func(msg *message.Message) error {
		close(started)
		<-release
		return nil
	})
	t.Cleanup(func() { close(release) }) // before the Router's Close, which waits for the handler
	publish(t, env, "hangs")
	<-started
	closed := make(chan struct{})
	go func() {
		_ = sub.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Subscriber.Close waited for a hung handler beyond its grace")
	}
	c, err := env.JS.Consumer(context.Background(), stream, "d")
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := <-batch.Messages()
	if !ok {
		t.Fatal("the hung handler's message did not come back within 5s")
	}
	md, _ := m.Metadata()
	if string(m.Data()) != "hangs" || md.NumDelivered != 2 {
		t.Fatalf("got %q delivered %d times, want the hung message again", m.Data(), md.NumDelivered)
	}
}

// TestLater: a message whose handler left work to Later is acked only when
// that work is done, and nacked after the delay it set when it fails;
// meanwhile the handler has returned.
func TestLater(t *testing.T) {
	t.Parallel()
	env, sub := setup(t, 5*time.Second)
	var got deliveries
	release := make(chan struct{})
	const delay = 300 * time.Millisecond
	returned := make(chan struct{}, 2)
	run(t, sub, func(msg *message.Message) error {
		n := got.add(string(msg.Payload))
		defer func() { returned <- struct{}{} }()
		return wmjetstream.Later(msg, func() error {
			if n == 1 {
				<-release
				wmjetstream.SetNakDelay(msg, delay)
				return errors.New("not stored")
			}
			return nil
		})
	})
	publish(t, env, "x")
	// The handler returned while its work waits, and the message is not
	// acked meanwhile.
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler did not return while its work waited")
	}
	c, _ := env.JS.Consumer(context.Background(), stream, "d")
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 1 {
		t.Fatalf("%d unacknowledged while the work waits, want 1", info.NumAckPending)
	}
	close(release)
	settled(t, env)
	ts := got.times("x")
	if len(ts) != 2 {
		t.Fatalf("handled %d times, want twice", len(ts))
	}
	if ts[1].Sub(ts[0]) < delay {
		t.Fatalf("redelivered after %v, want at least %v", ts[1].Sub(ts[0]), delay)
	}
}
