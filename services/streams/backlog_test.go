package streams_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/streams"
	"github.com/ketenbus/ketenbus/services/testutil/natstest"
)

func TestBacklog(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := context.Background()
	if _, found, err := streams.Backlog(ctx, env.JS, events.StreamDelivery, "adapter-ggz"); found || err != nil {
		t.Fatalf("Backlog of a missing consumer: found %v, %v; want not found, no error", found, err)
	}
	for range 3 {
		if _, err := env.JS.Publish(ctx, events.DeliverySubject("ggz"), []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := env.JS.CreateOrUpdateConsumer(ctx, events.StreamDelivery, jetstream.ConsumerConfig{
		Durable: "adapter-ggz", FilterSubject: events.DeliverySubject("ggz"), AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(1)
	if err != nil {
		t.Fatal(err)
	}
	for m := range msgs.Messages() {
		_ = m // fetched, not acked: in flight
	}
	n, found, err := streams.Backlog(ctx, env.JS, events.StreamDelivery, "adapter-ggz")
	if err != nil || !found || n != 3 {
		t.Errorf("Backlog = %d, found %v, %v; want 3 (2 waiting, 1 in flight)", n, found, err)
	}
}
