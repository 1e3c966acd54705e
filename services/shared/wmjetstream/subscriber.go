package wmjetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
)

// Metadata keys the Subscriber sets on every message, besides the NATS
// headers (each by its name).
const (
	MetaSubject      = "_nats_subject"
	MetaStreamSeq    = "_nats_stream_seq"
	MetaNumDelivered = "_nats_num_delivered"
	MetaTimestamp    = "_nats_timestamp" // Unix nanoseconds: when the stream stored it
	metaNakDelay     = "_nats_nak_delay"
)

// SetNakDelay asks the Subscriber to redeliver msg after d when the
// handler nacks it.
func SetNakDelay(msg *message.Message, d time.Duration) {
	msg.Metadata.Set(metaNakDelay, d.String())
}

// Backoff is a redelivery delay for a handler that cannot reach what it
// needs (Redis, JetStream) after n deliveries: 2s, 4s, 8s … up to 30s.
func Backoff(n uint64) time.Duration {
	d := time.Second << min(n, 5)
	return min(d, 30*time.Second)
}

// StreamSeq returns the stream sequence of a consumed message (0 if absent).
func StreamSeq(msg *message.Message) uint64 {
	n, _ := strconv.ParseUint(msg.Metadata.Get(MetaStreamSeq), 10, 64)
	return n
}

// NumDelivered returns how often the message was delivered, this time
// included.
func NumDelivered(msg *message.Message) uint64 {
	n, _ := strconv.ParseUint(msg.Metadata.Get(MetaNumDelivered), 10, 64)
	return n
}

// Timestamp returns when the stream stored the message (zero if absent).
func Timestamp(msg *message.Message) time.Time {
	n, err := strconv.ParseInt(msg.Metadata.Get(MetaTimestamp), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// Stream the consumers read; required.
	Stream string
	// Consumer returns the durable consumer config for a topic (a filter
	// subject); Durable is required. CreateOrUpdateConsumer applies it.
	Consumer func(topic string) jetstream.ConsumerConfig
	// Logger for failures; default a no-op logger.
	Logger watermill.LoggerAdapter
	// ShutdownGrace is how long a stopping subscription waits for handlers
	// in flight to ack or nack before it nacks their messages. Default 10s,
	// the Watermill Router's close timeout in ketenbus.
	ShutdownGrace time.Duration
}

// Subscriber consumes durable JetStream pull consumers for the Watermill
// Router, or any reader of its channels. Messages are handed over in the
// order the consumer delivers them, each without waiting for the ack of
// the one before, up to the consumer's MaxAckPending in flight.
//
// A message is settled with JetStream when it is acked or nacked
// (message.Ack, message.Nack), as the Router does when its handler
// returns: the ack is sent asynchronously, the nack after the delay set
// with SetNakDelay. Work a handler left to Later is done before the ack.
// A message still unsettled when the shutdown grace ends is nacked.
// Each message has a context of its own, cancelled once the message is
// settled; it does not end with Subscribe's context, so a handler in
// flight during shutdown can finish.
type Subscriber struct {
	js     jetstream.JetStream
	cfg    SubscriberConfig
	mu     sync.Mutex
	closed bool
	stops  []func()
	// subs counts the subscriptions whose channel is not closed yet.
	subs sync.WaitGroup
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a Subscriber.
func NewSubscriber(js jetstream.JetStream, cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.Stream == "" {
		return nil, errors.New("wmjetstream: Stream is missing")
	}
	if cfg.Consumer == nil {
		return nil, errors.New("wmjetstream: Consumer is missing")
	}
	if cfg.Logger == nil {
		cfg.Logger = watermill.NopLogger{}
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 10 * time.Second
	}
	return &Subscriber{js: js, cfg: cfg}, nil
}

// ErrSubscriberClosed is returned by Subscribe after Close.
var ErrSubscriberClosed = errors.New("wmjetstream: subscriber closed")

// subscription is the state of one Subscribe call.
type subscription struct {
	s    *Subscriber
	out  chan *message.Message
	done chan struct{} // closed when stopping
	// gate keeps callbacks that arrive after stop from joining inflight:
	// once stopped, the callback nacks the message and out can close
	// safely. It also guards handed.
	gate    sync.Mutex
	stopped bool
	// inflight counts messages taken from the consumer and not yet
	// settled.
	inflight sync.WaitGroup
	// handed holds the messages taken and not yet settled, for the nack
	// at the end of the grace.
	handed map[*pending]struct{}
	// later queues the messages whose handlers left work to Later, for
	// finishLater, which returns when finished closes.
	later    chan *pending
	finished chan struct{}
	// closed is called once out is closed.
	closed func()
}

// pending is a message taken from the consumer and not yet settled.
type pending struct {
	sub     *subscription
	jm      jetstream.Msg
	msg     *message.Message
	cancel  context.CancelFunc // of msg's context
	settled atomic.Bool
	// later is what the handler left to finish after it returned (Later);
	// set before msg is acked, read once it is.
	later func() error
}

type pendingKey struct{}

// Subscribe creates or updates the durable consumer for topic and returns
// its messages. The channel closes when ctx ends or the Subscriber closes,
// once every message handed over is settled or the shutdown grace has
// ended. After Close it returns ErrSubscriberClosed.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if s.isClosed() {
		return nil, ErrSubscriberClosed
	}
	cc := s.cfg.Consumer(topic)
	if cc.Durable == "" {
		return nil, fmt.Errorf("wmjetstream: consumer for %s has no durable name", topic)
	}
	cons, err := s.js.CreateOrUpdateConsumer(ctx, s.cfg.Stream, cc)
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", cc.Durable, s.cfg.Stream, err)
	}
	sub := &subscription{s: s, out: make(chan *message.Message), done: make(chan struct{}), handed: map[*pending]struct{}{},
		later: make(chan *pending, max(cc.MaxAckPending, 64)), finished: make(chan struct{}), closed: func() {}}
	cctx, err := cons.Consume(sub.receive, jetstream.PullMaxMessages(max(cc.MaxAckPending, 64)))
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", cc.Durable, err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			sub.gate.Lock()
			sub.stopped = true
			sub.gate.Unlock()
			cctx.Drain() // buffered messages reach the callback, which nacks them
			close(sub.done)
			go sub.closeOut()
		})
	}
	s.mu.Lock()
	if s.closed { // closed while the consumer was being set up
		s.mu.Unlock()
		stop()
		<-sub.finished
		return nil, ErrSubscriberClosed
	}
	s.subs.Add(1)
	sub.closed = s.subs.Done
	s.stops = append(s.stops, stop)
	s.mu.Unlock()
	go sub.finishLater()
	go func() {
		select {
		case <-ctx.Done():
		case <-sub.done:
		}
		stop()
	}()
	return sub.out, nil
}

func (s *Subscriber) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// receive is the consumer's callback: it hands jm over and has it settled
// when it is acked or nacked.
func (sub *subscription) receive(jm jetstream.Msg) {
	p := &pending{sub: sub, jm: jm, msg: toMessage(jm)}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), pendingKey{}, p))
	p.msg.SetContext(ctx)
	p.cancel = cancel
	sub.gate.Lock()
	if sub.stopped {
		sub.gate.Unlock()
		cancel()
		_ = jm.Nak()
		return
	}
	sub.inflight.Add(1)
	sub.handed[p] = struct{}{}
	sub.gate.Unlock()
	select {
	case sub.out <- p.msg:
		go p.await()
	case <-sub.done:
		// Never handed over: back to the broker at once.
		p.settle(jm.Nak, "nak")
	}
}

// await settles p when its message is acked or nacked; it gives up once
// the subscription has ended (the grace nacked p by then).
func (p *pending) await() {
	select {
	case <-p.msg.Acked():
		if p.later != nil {
			p.sub.queueLater(p)
			return
		}
		p.settle(p.jm.Ack, "ack")
	case <-p.msg.Nacked():
		p.settle(p.nak(), "nak")
	case <-p.sub.finished:
	}
}

// closeOut closes out once every message taken from the consumer is
// settled; a handler that has not returned after ShutdownGrace has its
// message nacked.
func (sub *subscription) closeOut() {
	all := make(chan struct{})
	go func() {
		sub.inflight.Wait()
		close(all)
	}()
	select {
	case <-all:
	case <-time.After(sub.s.cfg.ShutdownGrace):
		sub.gate.Lock()
		late := make([]*pending, 0, len(sub.handed))
		for p := range sub.handed {
			late = append(late, p)
		}
		sub.gate.Unlock()
		for _, p := range late {
			p.settle(p.jm.Nak, "nak")
		}
		<-all
	}
	close(sub.out)
	close(sub.finished)
	sub.closed()
}

// settle acks or nacks p's message with f, once: its ack or nack and the
// end of the shutdown grace may both try. Then it cancels the message's
// context.
func (p *pending) settle(f func() error, what string) {
	if !p.settled.CompareAndSwap(false, true) {
		return
	}
	sub := p.sub
	if err := f(); err != nil {
		sub.s.cfg.Logger.Error(what, err, watermill.LogFields{"subject": p.jm.Subject()})
	}
	p.cancel()
	sub.gate.Lock()
	delete(sub.handed, p)
	sub.gate.Unlock()
	sub.inflight.Done()
}

// Later lets a handler return before all its work is done, while it
// waits for the PubAcks of what it published: wait finishes it once the
// message is acked (as the Router does when the handler returns nil), and
// the message is acked with JetStream when wait returns nil and nacked
// (after the delay wait set with SetNakDelay) when it returns an error.
// Later returns nil. Call it before the message is acked, with msg's
// context still the one the Subscriber gave it, or one derived from it;
// for any other message Later calls wait and returns its error, for the
// handler to return.
//
// The waits of a subscription run one after another, in the order their
// messages were acked, in one goroutine: meant for waits that end in about
// that order, as PubAcks on one connection do. A wait that takes long
// holds up those behind it, so bound it (streams.Publishing.WaitUpTo).
//
// A handler that waits itself keeps its goroutine, and the stack that
// grew deep while it worked, until the wait ends; with thousands of
// messages in flight the runtime spends a noticeable share of its time
// scanning, shrinking and growing those stacks, and a goroutine per wait
// costs its own start and growth. By the time one goroutine reaches a
// wait in order, its PubAcks have mostly come.
func Later(msg *message.Message, wait func() error) error {
	p, _ := msg.Context().Value(pendingKey{}).(*pending)
	if p == nil || p.msg != msg {
		return wait()
	}
	p.later = wait
	return nil
}

// queueLater queues p's work left for Later; when the queue is full it
// runs in a goroutine of its own.
func (sub *subscription) queueLater(p *pending) {
	select {
	case sub.later <- p:
	default:
		go p.finish()
	}
}

// finishLater runs the work left for Later in the order it was queued,
// until the subscription has closed its messages.
func (sub *subscription) finishLater() {
	for {
		select {
		case p := <-sub.later:
			p.finish()
		case <-sub.finished:
			return
		}
	}
}

// finish runs what the handler of p left for Later and settles p by its
// result.
func (p *pending) finish() {
	if err := p.later(); err != nil {
		p.settle(p.nak(), "nak")
		return
	}
	p.settle(p.jm.Ack, "ack")
}

// nak returns the nack of p, delayed when the handler set a delay on its
// message.
func (p *pending) nak() func() error {
	if d, err := time.ParseDuration(p.msg.Metadata.Get(metaNakDelay)); err == nil && d > 0 {
		return func() error { return p.jm.NakWithDelay(d) }
	}
	return p.jm.Nak
}

// toMessage returns the Watermill message of jm: its UUID is the one the
// Publisher sent, else its Nats-Msg-Id, else its stream sequence; its
// metadata are its headers and the Meta keys.
func toMessage(jm jetstream.Msg) *message.Message {
	h := jm.Headers()
	id := h.Get(headerUUID)
	if id == "" {
		id = h.Get(jetstream.MsgIDHeader)
	}
	md, err := jm.Metadata()
	if id == "" && err == nil {
		id = strconv.FormatUint(md.Sequence.Stream, 10)
	}
	m := message.NewMessage(id, jm.Data())
	m.Metadata = make(message.Metadata, len(h)+4)
	for k, vs := range h {
		if len(vs) > 0 && k != headerUUID {
			m.Metadata[k] = vs[0]
		}
	}
	m.Metadata[MetaSubject] = jm.Subject()
	if err == nil {
		m.Metadata[MetaStreamSeq] = strconv.FormatUint(md.Sequence.Stream, 10)
		m.Metadata[MetaNumDelivered] = strconv.FormatUint(md.NumDelivered, 10)
		m.Metadata[MetaTimestamp] = strconv.FormatInt(md.Timestamp.UnixNano(), 10)
	}
	return m
}

// Close stops every subscription. Messages not yet handed over are
// nacked (redelivered at once); handlers in flight get ShutdownGrace to
// finish, then their messages are nacked too. Close returns once every
// channel of s is closed; it can be called more than once.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	stops := s.stops
	s.stops = nil
	s.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	s.subs.Wait()
	return nil
}
