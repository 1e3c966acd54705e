package wmjetstream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/wmjetstream"
)

// newPublisher returns a Publisher on js with the default config.
func newPublisher(t *testing.T, js jetstream.JetStream) *wmjetstream.Publisher {
	t.Helper()
	pub, err := wmjetstream.NewPublisher(js, wmjetstream.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestPublisher: a message is stored with its metadata as headers, the
// Subscriber's own metadata left out, once however often it is published
// with a Nats-Msg-Id; a subject no stream captures is an error, and so is
// a Publish after Close.
func TestPublisher(t *testing.T) {
	t.Parallel()
	env, _ := setup(t, 0)
	pub := newPublisher(t, env.JS)
	m := message.NewMessage("uuid-1", []byte("x"))
	m.Metadata.Set(jetstream.MsgIDHeader, "id-1")
	m.Metadata.Set("Ketenbus-Test", "yes")
	m.Metadata.Set(wmjetstream.MetaStreamSeq, "99") // from a consumed copy
	if err := pub.Publish(subject, m, m.Copy()); err != nil {
		t.Fatal(err)
	}
	msgs := env.Messages(t, stream)
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1: the second has the same Nats-Msg-Id", len(msgs))
	}
	h := msgs[0].Header
	if h.Get("Ketenbus-Test") != "yes" || h.Get(jetstream.MsgIDHeader) != "id-1" || h.Get(wmjetstream.MetaStreamSeq) != "" {
		t.Fatalf("headers %v", h)
	}
	if err := pub.Publish("nowhere.at.all", message.NewMessage("uuid-2", nil)); err == nil {
		t.Fatal("a message no stream stores was reported stored")
	}
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(subject, message.NewMessage("uuid-3", nil)); !errors.Is(err, wmjetstream.ErrPublisherClosed) {
		t.Fatalf("Publish after Close: %v, want ErrPublisherClosed", err)
	}
}

// TestPublisherUUID: the Subscriber gives a message the UUID it was
// published with, and leaves the header that carried it out of the
// metadata.
func TestPublisherUUID(t *testing.T) {
	t.Parallel()
	env, sub := setup(t, 0)
	pub := newPublisher(t, env.JS)
	defer pub.Close()
	if err := pub.Publish(subject, message.NewMessage("uuid-1", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.Subscribe(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var m *message.Message
	select {
	case m = <-msgs:
		m.Ack()
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	if m.UUID != "uuid-1" {
		t.Fatalf("UUID %q, want uuid-1", m.UUID)
	}
	for k := range m.Metadata {
		if k == "_watermill_message_uuid" {
			t.Fatalf("metadata %v carry the UUID header", m.Metadata)
		}
	}
}
