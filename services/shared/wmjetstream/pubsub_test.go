package wmjetstream_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/wmjetstream"
)

// pubsubStream captures every topic of the suite: topics are
// "pubsub.<test id>" with suffixes such as "-1", one token each.
const (
	pubsubStream = "WMPUBSUB"
	pubsubPrefix = "pubsub."
)

// TestPubSub runs Watermill's universal Pub/Sub test suite against the
// Publisher and the Subscriber on one embedded nats-server, at its full
// sizes (ForceShort off): with -race on two cores it takes 5 to 20s.
// TestReconnect needs a command that restarts the broker, which an
// embedded server has not, so the suite passes it by.
func TestPubSub(t *testing.T) {
	env := natstest.Start(t)
	if _, err := env.JS.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: pubsubStream, Subjects: []string{pubsubPrefix + ">"},
	}); err != nil {
		t.Fatal(err)
	}
	group := func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
		t.Helper()
		return pubSub(t, env, group)
	}
	tests.TestPubSub(t, tests.Features{
		// A consumer group is a durable consumer: every Subscriber of
		// one group shares it, and each group has its own.
		ConsumerGroups: true,
		// At least once: a message whose ack is lost, or that is not
		// acked within the ack wait, comes again.
		ExactlyOnceDelivery: false,
		// The Subscriber hands a message over before the previous one is
		// acked (up to MaxAckPending in flight, for the Router to handle
		// concurrently), and a nacked message comes back behind later
		// ones; so neither the order nor "nothing new before the ack"
		// (TestNoAck) holds, not even with one Subscriber.
		GuaranteedOrder:                     false,
		GuaranteedOrderWithSingleSubscriber: false,
		// The stream stores messages on the server, whoever subscribes.
		Persistent: true,
		// Subscribers in other Subscriber values (other processes in
		// production) share a durable consumer.
		RequireSingleInstance: false,
		// The suite's plain constructor gives every Subscriber of a topic
		// the same durable consumer, as ketenbus's services share theirs:
		// a new Subscriber gets what is left, not what was acked.
		NewSubscriberReceivesOldMessages: false,
		// A message's context does not travel over NATS; the Subscriber
		// gives each one its own, cancelled once it is settled.
		ContextPreserved: false,
		// Suite topics must fall in the stream's subjects.
		GenerateTopicFunc: func(tctx tests.TestContext) string { return pubsubPrefix + tctx.TestID.String() },
	}, func(t *testing.T) (message.Publisher, message.Subscriber) {
		return pubSub(t, env, "shared")
	}, group)
}

// pubSub returns a Publisher and a Subscriber on env whose consumer for a
// topic is the durable of group on that topic.
func pubSub(t *testing.T, env *natstest.Env, group string) (message.Publisher, message.Subscriber) {
	t.Helper()
	pub := newPublisher(t, env.JS)
	sub, err := wmjetstream.NewSubscriber(env.JS, wmjetstream.SubscriberConfig{
		Stream: pubsubStream,
		Consumer: func(topic string) jetstream.ConsumerConfig {
			return jetstream.ConsumerConfig{Durable: durable(group, topic), FilterSubject: topic,
				AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 256}
		},
		// The suite closes Subscribers with messages it never acked.
		ShutdownGrace: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return pub, sub
}

// durable returns the durable name of group on topic: a NATS name holds
// no '.', '*', '>', path separator or white space.
func durable(group, topic string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', '/', '\\', ' ', '\t', '\n', '\r':
			return '_'
		}
		return r
	}, group+"_"+topic)
}
