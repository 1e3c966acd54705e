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
// Router. Messages are handed over concurrently, up to the consumer's
// MaxAckPending.
//
// A message is settled with JetStream when the Router acks or nacks it.
// A Router that adds the Subscriber's Settle middleware has it settled
// in the handler's own goroutine; without it, a goroutine per message
// watches for the Router's ack. Either way a message still unsettled when
// the shutdown grace ends is nacked.
type Subscriber struct {
	js     jetstream.JetStream
	cfg    SubscriberConfig
	mu     sync.Mutex
	closed bool
	stops  []func()
	wg     sync.WaitGroup
	// settling is set once Settle wraps a handler: messages handed over
	// from then on are settled by it.
	settling atomic.Bool
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
	// later queues what handlers left to Later, for finishLater, which
	// returns when finished closes.
	later    chan laterWork
	finished chan struct{}
}

// laterWork is a message whose handler returned with work left (Later).
type laterWork struct {
	p   *pending
	msg *message.Message
}

// pending is a message taken from the consumer and not yet settled.
type pending struct {
	sub *subscription
	jm  jetstream.Msg
	// bySettle: the Settle middleware settles it; else await does.
	bySettle bool
	settled  atomic.Bool
	// later is what the handler left to finish after it returned (Later);
	// set and read in the handler's goroutine.
	later func() error
}

type pendingKey struct{}

// Subscribe creates or updates the durable consumer for topic and returns
// its messages. The channel closes when ctx ends or the Subscriber closes.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("wmjetstream: subscriber closed")
	}
	s.mu.Unlock()
	cc := s.cfg.Consumer(topic)
	if cc.Durable == "" {
		return nil, fmt.Errorf("wmjetstream: consumer for %s has no durable name", topic)
	}
	cons, err := s.js.CreateOrUpdateConsumer(ctx, s.cfg.Stream, cc)
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", cc.Durable, s.cfg.Stream, err)
	}
	sub := &subscription{s: s, out: make(chan *message.Message), done: make(chan struct{}), handed: map[*pending]struct{}{},
		later: make(chan laterWork, max(cc.MaxAckPending, 64)), finished: make(chan struct{})}
	cctx, err := cons.Consume(sub.receive, jetstream.PullMaxMessages(max(cc.MaxAckPending, 64)))
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", cc.Durable, err)
	}
	go sub.finishLater()
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
	s.stops = append(s.stops, stop)
	s.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-sub.done:
		}
		stop()
	}()
	return sub.out, nil
}

// receive is the consumer's callback: it hands jm to the Router.
func (sub *subscription) receive(jm jetstream.Msg) {
	p := &pending{sub: sub, jm: jm, bySettle: sub.s.settling.Load()}
	sub.gate.Lock()
	if sub.stopped {
		sub.gate.Unlock()
		_ = jm.Nak()
		return
	}
	sub.inflight.Add(1)
	sub.s.wg.Add(1)
	sub.handed[p] = struct{}{}
	sub.gate.Unlock()
	m := toMessage(jm)
	m.SetContext(context.WithValue(m.Context(), pendingKey{}, p))
	if !p.bySettle {
		go p.await(m)
	}
	select {
	case sub.out <- m:
	case <-sub.done:
		// Never handed over: back to the broker at once.
		p.settle(jm.Nak, "nak")
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
}

// settle acks or nacks p's message with f, once: the Settle middleware
// and the end of the shutdown grace may both try.
func (p *pending) settle(f func() error, what string) {
	if !p.settled.CompareAndSwap(false, true) {
		return
	}
	sub := p.sub
	sub.s.settle(p.jm, f, what)
	sub.gate.Lock()
	delete(sub.handed, p)
	sub.gate.Unlock()
	sub.inflight.Done()
	sub.s.wg.Done()
}

// Settle is the Watermill middleware that settles the messages of s in the
// handler's goroutine: ack when the handler returns no error, nack
// (after the delay set with SetNakDelay) when it returns one, panics or
// nacks the message itself.
// Add it to the Router before any middleware that replaces a message's
// context. A handler that produces messages has its message settled only
// when the Router acks or nacks it, after publishing them.
//
// Without Settle every message costs a goroutine that waits for the
// Router's ack; at thousands of events per second that is a measurable
// part of a service's CPU.
func (s *Subscriber) Settle(h message.HandlerFunc) message.HandlerFunc {
	s.settling.Store(true)
	return func(msg *message.Message) (produced []*message.Message, err error) {
		p := pendingOf(msg)
		if p == nil || !p.bySettle || p.sub.s != s {
			return h(msg)
		}
		returned := false
		defer func() {
			switch {
			case !returned || err != nil || nacked(msg): // a panic, an error, or the handler's own Nack
				p.settle(nak(p.jm, msg), "nak")
			case len(produced) > 0:
				go p.await(msg)
			case p.later != nil:
				p.sub.queueLater(p, msg)
			default:
				p.settle(p.jm.Ack, "ack")
			}
		}()
		produced, err = h(msg)
		returned = true
		return produced, err
	}
}

// Later lets a handler return before all its work is done, while it
// waits for the PubAcks of what it published: wait finishes it, and the
// message is acked when wait returns nil and nacked (after the delay wait
// set with SetNakDelay) when it returns an error. Later returns nil. For a
// message no Settle middleware settles, Later calls wait and returns its
// error, for the handler to return.
//
// The waits of a subscription run one after another, in the order their
// handlers returned, in one goroutine: meant for waits that end in about
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
	p := pendingOf(msg)
	if p == nil || !p.bySettle {
		return wait()
	}
	p.later = wait
	return nil
}

// queueLater queues p's work left for Later; when the queue is full it
// runs in a goroutine of its own.
func (sub *subscription) queueLater(p *pending, msg *message.Message) {
	select {
	case sub.later <- laterWork{p, msg}:
	default:
		go p.finish(msg)
	}
}

// finishLater runs the work left for Later in the order it was queued,
// until the subscription has closed its messages.
func (sub *subscription) finishLater() {
	for {
		select {
		case w := <-sub.later:
			w.p.finish(w.msg)
		case <-sub.finished:
			return
		}
	}
}

// finish runs what the handler of msg left for Later and settles msg by
// its result.
func (p *pending) finish(msg *message.Message) {
	if err := p.later(); err != nil {
		p.settle(nak(p.jm, msg), "nak")
		return
	}
	p.settle(p.jm.Ack, "ack")
}

// pendingOf returns the pending message of msg, nil for a message of
// another subscriber.
func pendingOf(msg *message.Message) *pending {
	p, _ := msg.Context().Value(pendingKey{}).(*pending)
	return p
}

// nacked reports whether msg was nacked already.
func nacked(msg *message.Message) bool {
	select {
	case <-msg.Nacked():
		return true
	default:
		return false
	}
}

// await settles p when the Router acks or nacks msg; it gives up once
// the subscription has ended (the grace nacked p by then).
func (p *pending) await(msg *message.Message) {
	select {
	case <-msg.Acked():
		p.settle(p.jm.Ack, "ack")
	case <-msg.Nacked():
		p.settle(nak(p.jm, msg), "nak")
	case <-p.sub.finished:
	}
}

// nak returns the nack of jm, delayed when the handler set a delay on
// msg.
func nak(jm jetstream.Msg, msg *message.Message) func() error {
	if d, err := time.ParseDuration(msg.Metadata.Get(metaNakDelay)); err == nil && d > 0 {
		return func() error { return jm.NakWithDelay(d) }
	}
	return jm.Nak
}

func (s *Subscriber) settle(jm jetstream.Msg, f func() error, what string) {
	if err := f(); err != nil {
		s.cfg.Logger.Error(what, err, watermill.LogFields{"subject": jm.Subject()})
	}
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

// Close stops every subscription. Messages not yet handed to a handler are
// nacked (redelivered at once); handlers in flight get ShutdownGrace to
// finish, then their messages are nacked too.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	stops := s.stops
	s.stops = nil
	s.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	s.wg.Wait()
	return nil
}
