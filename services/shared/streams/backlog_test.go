package streams_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

func TestBacklog(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := context.Background()
	if _, found, err := streams.Backlog(ctx, env.JS, events.StreamDelivery, "adapter-ggz"); found || err != nil {
		t.Fatalf("Backlog of a missing consumer: found %v, %v; want not found, no error", found, err)
	}
	fetchForGGZ(t, env, []string{"ggz", "ggz", "ggz"}, 1, 0) // fetched, not acked: in flight
	n, found, err := streams.Backlog(ctx, env.JS, events.StreamDelivery, "adapter-ggz")
	if err != nil || !found || n != 3 {
		t.Errorf("Backlog = %d, found %v, %v; want 3 (2 waiting, 1 in flight)", n, found, err)
	}
}

func TestConsumerPositionAndLastSeq(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := context.Background()
	if n, err := streams.LastSeq(ctx, env.JS, events.StreamDelivery); n != 0 || err != nil {
		t.Fatalf("LastSeq of an empty stream = %d, %v; want 0", n, err)
	}
	if p, found, err := streams.ConsumerPosition(ctx, env.JS, events.StreamDelivery, "adapter-ggz"); found || p != (streams.Position{}) || err != nil {
		t.Fatalf("ConsumerPosition of a missing consumer = %+v, found %v, %v; want not found, no error", p, found, err)
	}
	fetchForGGZ(t, env, []string{"ggz", "zvh", "ggz"}, 2, 1) // the second stays in flight
	if p, found, err := streams.ConsumerPosition(ctx, env.JS, events.StreamDelivery, "adapter-ggz"); !found || err != nil || p != (streams.Position{Acked: 2, Delivered: 3}) {
		// The floor passes 2, a message the consumer does not read.
		t.Errorf("ConsumerPosition = %+v, found %v, %v; want acked 2, delivered 3 (stream sequences)", p, found, err)
	}
	for _, tt := range []struct {
		from, to uint64
		want     bool
	}{{1, 3, true}, {2, 2, false}, {2, 3, true}, {4, 9, false}} {
		got, err := streams.Holds(ctx, env.JS, events.StreamDelivery, []string{events.DeliverySubject("ggz")}, tt.from, tt.to)
		if err != nil || got != tt.want {
			t.Errorf("Holds(ggz, %d..%d) = %v, %v; want %v", tt.from, tt.to, got, err, tt.want)
		}
	}
	if n, err := streams.LastSeq(ctx, env.JS, events.StreamDelivery); n != 3 || err != nil {
		t.Errorf("LastSeq = %d, %v; want 3", n, err)
	}
}

// fetchForGGZ publishes a delivery for each of partners on DELIVERY,
// creates the consumer adapter-ggz and fetches n of its messages, acking
// the first ack of them and leaving the others in flight.
func fetchForGGZ(t *testing.T, env *natstest.Env, partners []string, n, ack int) {
	t.Helper()
	ctx := context.Background()
	for _, p := range partners {
		if _, err := env.JS.Publish(ctx, events.DeliverySubject(p), []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := env.JS.CreateOrUpdateConsumer(ctx, events.StreamDelivery, jetstream.ConsumerConfig{
		Durable: "adapter-ggz", FilterSubject: events.DeliverySubject("ggz"), AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(n)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for m := range msgs.Messages() {
		if i < ack {
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
		i++
	}
}
