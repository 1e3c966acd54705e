package wmjetstream

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/streams"
)

// headerUUID carries a message's Watermill UUID, which the Subscriber
// gives back as the UUID of the consumed message. The name is the one
// watermill-nats uses.
const headerUUID = "_watermill_message_uuid"

// ErrPublisherClosed is returned by Publish after Close.
var ErrPublisherClosed = errors.New("wmjetstream: publisher closed")

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// PubAckWait is how long Publish waits for the PubAcks of its
	// messages, counted from their publish. Default 10s.
	PubAckWait time.Duration
}

func (c *PublisherConfig) setDefaults() {
	if c.PubAckWait <= 0 {
		c.PubAckWait = 10 * time.Second
	}
}

// Publisher is a Watermill message.Publisher on JetStream. Publish sends
// its messages with asynchronous publishes (streams.StartPublish: one
// round trip for all of them) and returns when JetStream has stored them
// all. It is safe for concurrent use; concurrent Publish calls share the
// connection's pipeline.
//
// A message's topic is its NATS subject, which a stream must capture;
// the Publisher creates no streams. Its metadata become NATS headers, the
// metadata the Subscriber sets on consumed messages (MetaSubject, …)
// excepted; set the metadata key jetstream.MsgIDHeader ("Nats-Msg-Id")
// to have JetStream store a message once however often it is published.
// The UUID travels in a header of its own.
type Publisher struct {
	js      jetstream.JetStream
	cfg     PublisherConfig
	mu      sync.RWMutex
	closed  bool
	publish sync.WaitGroup
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher on js.
func NewPublisher(js jetstream.JetStream, cfg PublisherConfig) (*Publisher, error) {
	if js == nil {
		return nil, errors.New("wmjetstream: JetStream is missing")
	}
	cfg.setDefaults()
	return &Publisher{js: js, cfg: cfg}, nil
}

// Publish stores msgs on the subject topic and returns when JetStream
// acknowledged every one, or with the first error: a message not stored
// (no stream captures topic, a PubAck that did not come within
// PubAckWait: streams.ErrPubAckTimeout). After an error some of msgs may
// be stored; publish them again with a Nats-Msg-Id to have each stored
// once. After Close it returns ErrPublisherClosed.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return ErrPublisherClosed
	}
	p.publish.Add(1)
	p.mu.RUnlock()
	defer p.publish.Done()
	nms := make([]*nats.Msg, len(msgs))
	for i, m := range msgs {
		nms[i] = toNATS(topic, m)
	}
	if err := streams.FirstError(streams.StartPublish(p.js, nms).WaitUpTo(p.cfg.PubAckWait)); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// Close makes later Publish calls fail and waits for those under way. It
// does not close the NATS connection, which belongs to the caller.
func (p *Publisher) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.publish.Wait()
	return nil
}

// toNATS returns the NATS message of m on subject.
func toNATS(subject string, m *message.Message) *nats.Msg {
	h := make(nats.Header, len(m.Metadata)+1)
	for k, v := range m.Metadata {
		if !subscriberMeta[k] {
			h[k] = []string{v}
		}
	}
	if m.UUID != "" {
		h[headerUUID] = []string{m.UUID}
	}
	return &nats.Msg{Subject: subject, Data: m.Payload, Header: h}
}

// subscriberMeta holds the metadata keys the Subscriber sets: they
// describe one consumed copy, and a message published again gets its own.
var subscriberMeta = map[string]bool{
	MetaSubject: true, MetaStreamSeq: true, MetaNumDelivered: true, MetaTimestamp: true, metaNakDelay: true,
}
