package streams

import (
	"context"
	"errors"
	"sync"
	"time"

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
	futs    []jetstream.PubAckFuture
	res     []Result
	started time.Time
}

// StartPublish publishes msgs as PublishAsync does, without waiting for
// their PubAcks: Wait does that, in another goroutine if need be.
func StartPublish(js jetstream.JetStream, msgs []*nats.Msg) *Publishing {
	p := &Publishing{futs: make([]jetstream.PubAckFuture, len(msgs)), res: make([]Result, len(msgs)), started: time.Now()}
	for i, m := range msgs {
		p.futs[i], p.res[i].Err = js.PublishMsgAsync(m)
	}
	return p
}

// Wait waits for every PubAck until ctx ends and returns the results in
// the order of the messages.
func (p *Publishing) Wait(ctx context.Context) []Result {
	return p.wait(ctx.Done(), ctx.Err)
}

// WaitUpTo is Wait with a time limit instead of a context: it waits for
// every PubAck until about d (up to a second more) after StartPublish,
// however late it is called, and returns the results in the order of the
// messages; a PubAck that did not come in time has Err ErrPubAckTimeout.
// The waits of all callers share one timer per second, so a service
// waiting for thousands of publishes a second does not start a timer for
// each.
func (p *Publishing) WaitUpTo(d time.Duration) []Result {
	return p.wait(closedAfter(time.Until(p.started.Add(d))), func() error { return ErrPubAckTimeout })
}

// wait waits for every PubAck until done closes; a PubAck not come by
// then has the error why returns.
func (p *Publishing) wait(done <-chan struct{}, why func() error) []Result {
	for i, f := range p.futs {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			p.res[i].Ack = ack
		case err := <-f.Err():
			p.res[i].Err = err
		case <-done:
			p.res[i].Err = why()
		}
	}
	return p.res
}

// ErrPubAckTimeout means JetStream did not acknowledge a publish in time;
// the message may or may not have been stored.
var ErrPubAckTimeout = errors.New("no PubAck in time")

// deadlines holds a channel per whole second that closes when that second
// comes, for closedAfter.
var deadlines struct {
	sync.Mutex
	at map[int64]chan struct{}
}

// closedAfter returns a channel that closes when d has passed, up to a
// second later: waits ending in the same second share it and its timer.
func closedAfter(d time.Duration) <-chan struct{} {
	sec := time.Now().Add(d).Unix() + 1
	deadlines.Lock()
	defer deadlines.Unlock()
	if ch, ok := deadlines.at[sec]; ok {
		return ch
	}
	if deadlines.at == nil {
		deadlines.at = map[int64]chan struct{}{}
	}
	ch := make(chan struct{})
	deadlines.at[sec] = ch
	time.AfterFunc(time.Until(time.Unix(sec, 0)), func() {
		deadlines.Lock()
		delete(deadlines.at, sec)
		deadlines.Unlock()
		close(ch)
	})
	return ch
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
