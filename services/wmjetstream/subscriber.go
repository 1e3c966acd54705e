package wmjetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
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
type Subscriber struct {
	js     jetstream.JetStream
	cfg    SubscriberConfig
	mu     sync.Mutex
	closed bool
	stops  []func()
	wg     sync.WaitGroup
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
	out := make(chan *message.Message)
	done := make(chan struct{})
	// gate keeps callbacks that arrive after stop from joining inflight:
	// once stopped, the callback nacks the message and out can close
	// safely.
	var (
		gate     sync.Mutex
		stopped  bool
		inflight sync.WaitGroup
	)
	cctx, err := cons.Consume(func(jm jetstream.Msg) {
		gate.Lock()
		if stopped {
			gate.Unlock()
			_ = jm.Nak()
			return
		}
		inflight.Add(1)
		s.wg.Add(1)
		gate.Unlock()
		m := toMessage(jm)
		go func() {
			defer inflight.Done()
			defer s.wg.Done()
			s.handle(jm, m, out, done)
		}()
	}, jetstream.PullMaxMessages(max(cc.MaxAckPending, 64)))
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", cc.Durable, err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			gate.Lock()
			stopped = true
			gate.Unlock()
			cctx.Drain() // buffered messages reach the callback, which nacks them
			close(done)
			go func() {
				inflight.Wait()
				close(out)
			}()
		})
	}
	s.mu.Lock()
	s.stops = append(s.stops, stop)
	s.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		stop()
	}()
	return out, nil
}

func (s *Subscriber) handle(jm jetstream.Msg, m *message.Message, out chan<- *message.Message, done <-chan struct{}) {
	select {
	case out <- m:
	case <-done:
		// Never handed over: back to the broker at once.
		s.settle(jm, func() error { return jm.Nak() }, "nak")
		return
	}
	var grace <-chan time.Time
	for {
		select {
		case <-m.Acked():
			s.settle(jm, jm.Ack, "ack")
			return
		case <-m.Nacked():
			d, err := time.ParseDuration(m.Metadata.Get(metaNakDelay))
			if err == nil && d > 0 {
				s.settle(jm, func() error { return jm.NakWithDelay(d) }, "nak")
			} else {
				s.settle(jm, jm.Nak, "nak")
			}
			return
		case <-done:
			// Stopping: let the handler finish, for a while.
			done = nil
			grace = time.After(s.cfg.ShutdownGrace)
		case <-grace:
			s.settle(jm, jm.Nak, "nak")
			return
		}
	}
}

func (s *Subscriber) settle(jm jetstream.Msg, f func() error, what string) {
	if err := f(); err != nil {
		s.cfg.Logger.Error(what, err, watermill.LogFields{"subject": jm.Subject()})
	}
}

func toMessage(jm jetstream.Msg) *message.Message {
	h := jm.Headers()
	id := h.Get(jetstream.MsgIDHeader)
	md, err := jm.Metadata()
	if id == "" && err == nil {
		id = strconv.FormatUint(md.Sequence.Stream, 10)
	}
	m := message.NewMessage(id, jm.Data())
	m.Metadata = make(message.Metadata, len(h)+4)
	for k, vs := range h {
		if len(vs) > 0 {
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
