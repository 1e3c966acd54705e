package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/streams"
	"github.com/ketenbus/ketenbus/services/testutil/natstest"
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

func TestParseTTL(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]time.Duration{"3600": time.Hour, "90s": 90 * time.Second, "": 0, "never": 0, "0": 0, "x": 0} {
		got, ok := streams.ParseTTL(v)
		if got != want && ok || ok != (want > 0) {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v", v, got, ok, want)
		}
	}
}
