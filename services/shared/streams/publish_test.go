package streams_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

func TestPublishAsync(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	msg := func(subject, id string) *nats.Msg {
		return &nats.Msg{Subject: subject, Data: []byte("{}"), Header: nats.Header{jetstream.MsgIDHeader: {id}}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := streams.PublishAsync(ctx, env.JS, []*nats.Msg{
		msg("ketenbus.deliver.a", "1"),
		msg("ketenbus.deliver.b", "2"),
		msg("ketenbus.deliver.a", "1"), // the same id again
		msg("nowhere.at.all", "3"),     // no stream has this subject
	})
	if res[0].Err != nil || res[1].Err != nil || res[2].Err != nil {
		t.Fatalf("results %+v", res)
	}
	if res[0].Ack.Sequence != 1 || res[1].Ack.Sequence != 2 || !res[2].Ack.Duplicate || res[2].Ack.Sequence != 1 {
		t.Fatalf("acks %+v %+v %+v", res[0].Ack, res[1].Ack, res[2].Ack)
	}
	if res[3].Err == nil {
		t.Fatal("a message no stream stores was reported stored")
	}
	if err := streams.FirstError(res); err != res[3].Err {
		t.Fatalf("FirstError = %v, want %v", err, res[3].Err)
	}
}

// TestWaitUpTo: a PubAck that never comes is a timeout after about the
// time given, while the others are reported as they came.
func TestWaitUpTo(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	// Something answers nothing on hang.>: the publish there waits for a
	// PubAck that does not come (no stream, but no "no responders" either).
	sub, err := env.Conn.SubscribeSync("hang.>")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	p := streams.StartPublish(env.JS, []*nats.Msg{
		{Subject: "ketenbus.deliver.a", Data: []byte("{}"), Header: nats.Header{jetstream.MsgIDHeader: {"1"}}},
		{Subject: "hang.x", Data: []byte("{}")},
	})
	start := time.Now()
	res := p.WaitUpTo(200 * time.Millisecond)
	took := time.Since(start)
	if res[0].Err != nil || res[0].Ack == nil || res[0].Ack.Sequence != 1 {
		t.Fatalf("stored message: %+v", res[0])
	}
	if !errors.Is(res[1].Err, streams.ErrPubAckTimeout) {
		t.Fatalf("unanswered publish: %+v, want ErrPubAckTimeout", res[1])
	}
	if took < 200*time.Millisecond || took > 3*time.Second {
		t.Fatalf("waited %v for a limit of 200ms (up to a second more allowed)", took)
	}
}
