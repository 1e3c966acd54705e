package wmjetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher publishes Watermill messages to JetStream. The topic is the NATS
// subject; metadata become headers; the UUID becomes Nats-Msg-Id. It is
// safe for concurrent use.
type Publisher struct {
	js      jetstream.JetStream
	timeout time.Duration
}

var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher on js; timeout bounds the wait for the
// PubAcks of one Publish call (default 10s).
func NewPublisher(js jetstream.JetStream, timeout time.Duration) *Publisher {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &Publisher{js: js, timeout: timeout}
}

// ErrNotStored wraps every error of Publish: one or more messages may not
// be stored; publishing them again is safe (Nats-Msg-Id deduplicates).
var ErrNotStored = errors.New("not stored in JetStream")

// Publish stores msgs on the subject topic and returns when all are
// stored. Errors wrap ErrNotStored.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	ctx := context.Background()
	if len(msgs) > 0 && msgs[0].Context() != nil {
		ctx = msgs[0].Context()
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	futs := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		nm := &nats.Msg{Subject: topic, Data: m.Payload, Header: make(nats.Header, len(m.Metadata)+1)}
		for k, v := range m.Metadata {
			nm.Header.Set(k, v)
		}
		nm.Header.Set(jetstream.MsgIDHeader, m.UUID)
		f, err := p.js.PublishMsgAsync(nm)
		if err != nil {
			return fmt.Errorf("publish to %s: %w: %w", topic, ErrNotStored, err)
		}
		futs[i] = f
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish to %s: %w: %w", topic, ErrNotStored, err)
		case <-ctx.Done():
			return fmt.Errorf("publish to %s: %w: %w", topic, ErrNotStored, ctx.Err())
		}
	}
	return nil
}

// Close does nothing: the connection belongs to the caller.
func (p *Publisher) Close() error { return nil }
