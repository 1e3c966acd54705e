package streams

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Result is what JetStream said about one message of PublishAsync: its
// PubAck, or why it was not stored.
type Result struct {
	Ack *jetstream.PubAck
	Err error
}

// PublishAsync publishes msgs without waiting for each PubAck in turn
// (one round trip for all of them, and concurrent callers share the
// connection), then waits for every PubAck until ctx ends. Results are in
// the order of msgs; a message whose PubAck did not come has Err set.
// Set a Nats-Msg-Id on each message, so publishing it again after an
// error is stored once.
func PublishAsync(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) []Result {
	return StartPublish(js, msgs).Wait(ctx)
}

// Publishing is an asynchronous publish of messages under way.
type Publishing struct {
	futs []jetstream.PubAckFuture
	res  []Result
}

// StartPublish publishes msgs as PublishAsync does, without waiting for
// their PubAcks: Wait does that, in another goroutine if need be.
func StartPublish(js jetstream.JetStream, msgs []*nats.Msg) *Publishing {
	p := &Publishing{futs: make([]jetstream.PubAckFuture, len(msgs)), res: make([]Result, len(msgs))}
	for i, m := range msgs {
		p.futs[i], p.res[i].Err = js.PublishMsgAsync(m)
	}
	return p
}

// Wait waits for every PubAck until ctx ends and returns the results in
// the order of the messages.
func (p *Publishing) Wait(ctx context.Context) []Result {
	for i, f := range p.futs {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			p.res[i].Ack = ack
		case err := <-f.Err():
			p.res[i].Err = err
		case <-ctx.Done():
			p.res[i].Err = ctx.Err()
		}
	}
	return p.res
}

// FirstError returns the first error of results, nil when every message
// was stored.
func FirstError(results []Result) error {
	for _, r := range results {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}
