package partner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
)

// Defaults of [ConsumeConfig].
const (
	DefaultMaxAckPending = 100
	DefaultAckWait       = 30 * time.Second
)

// consumeBuffer is how many messages Consume fetches ahead. It is small
// because a fetched message's AckWait is already running.
const consumeBuffer = 16

// ConsumeConfig configures [Consume]. Only Consumer is required, and
// Partner when Create is set.
type ConsumeConfig struct {
	// Stream is the JetStream stream with the deliveries; default
	// "DELIVERY".
	Stream string
	// Consumer is the durable name of the partner's consumer on Stream.
	// Required.
	Consumer string
	// Partner is the partner id. With Create, the consumer is filtered on
	// the partner's subject, "ketenbus.deliver.<Partner>".
	Partner string
	// Create makes Consume create the consumer, or update it to this
	// config, before consuming. Without it the consumer must exist (ketenbus
	// operators usually create it, with the permissions that go with it).
	Create bool
	// MaxAckPending and AckWait are used when creating the consumer: how
	// many messages may be unacknowledged at once, and how long one may stay
	// unacknowledged before it is delivered again. Defaults
	// DefaultMaxAckPending and DefaultAckWait. A handler that runs longer
	// than AckWait sees its event delivered again.
	MaxAckPending int
	AckWait       time.Duration
	// Idempotency, when set, deduplicates on the delivery id
	// ([Delivery.ID], see [DeliveryID]): a delivery already processed is
	// acknowledged without calling the handler.
	Idempotency Store
	// Logger receives one record per failed or refused message; nil logs
	// nothing. Records never hold event data.
	Logger *slog.Logger
}

func (c *ConsumeConfig) setDefaults() {
	if c.Stream == "" {
		c.Stream = events.StreamDelivery
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.Logger == nil {
		c.Logger = discardLogger()
	}
}

// Validate reports every problem of the config in one error that wraps
// [ErrInvalidConfig] and names the fields.
func (c ConsumeConfig) Validate() error {
	var errs configErrors
	if c.Consumer == "" {
		errs.add("ConsumeConfig.Consumer is missing")
	}
	switch {
	case c.Create && c.Partner == "":
		errs.add("ConsumeConfig.Partner is missing; Create needs it for the filter subject")
	case c.Partner != "" && !events.ValidPartnerID(c.Partner):
		errs.add("ConsumeConfig.Partner %q is not a partner id ([a-z0-9-], 1 to 63 characters)", c.Partner)
	}
	if c.MaxAckPending < 0 {
		errs.add("ConsumeConfig.MaxAckPending is negative")
	}
	if c.AckWait < 0 {
		errs.add("ConsumeConfig.AckWait is negative")
	}
	return errs.err()
}

// Consume receives the partner's deliveries straight from NATS JetStream,
// for partners that take events over NATS instead of webhooks, and passes
// each event to h, one at a time, in stream order (a message delivered
// again comes after the ones fetched before it).
//
// Each message is a structured-mode CloudEvent (JSON) whose data holds the
// subscription's allowed fields. When the event lacks the extension
// [ExtensionSequence], Consume sets it from the [HeaderEventSequence]
// header. The handler's context carries a [Delivery]. What happens to the
// message depends on what h returns:
//
//   - nil: acknowledged.
//   - [ErrRetry] ([Retry], [RetryAfter]): negatively acknowledged with the
//     asked delay (NakWithDelay), so it comes back after that delay.
//   - [ErrReject] ([Reject]): terminated (TermWithReason, with the error
//     text as reason): it is never delivered again. JetStream publishes a
//     terminated-message advisory
//     ($JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.<stream>.<consumer>) that
//     ketenbus operators watch, as they watch the max-deliveries advisory.
//   - [ErrGone] ([Gone]): negatively acknowledged, so nothing is lost, and
//     Consume stops and returns the error; deleting the consumer is up to
//     whoever manages it.
//   - any other error, or a panic: negatively acknowledged with a delay
//     growing with the number of deliveries: 1s, 5s, then 30s.
//
// A message that is not a valid CloudEvent is terminated without calling h.
//
// Consume runs until ctx is done, then drains: it stops fetching, lets the
// running handler finish (its context is done too), gives back messages
// fetched but not yet handled for immediate redelivery, and returns nil.
// It returns an error when cfg is invalid (wrapping [ErrInvalidConfig]),
// when the consumer cannot be found or created (wrapping
// [jetstream.ErrConsumerNotFound] and the like), when consuming stops on its
// own, such as when the consumer is deleted, and for [ErrGone].
//
// # Permissions
//
// Without Create, Consume binds to the existing durable and needs no more
// than a ketenbus partner user may do: publish to
// $JS.API.CONSUMER.INFO.<Stream>.<Consumer> (once, to bind),
// $JS.API.CONSUMER.MSG.NEXT.<Stream>.<Consumer> (pull) and
// $JS.ACK.<Stream>.<Consumer>.> (ack, nak, term), and receive the answers
// on the connection's inbox. A partner user may only subscribe to its own
// inbox prefix, so connect with it, such as
//
//	nc, err := nats.Connect(url, nats.UserInfo(user, password),
//		nats.CustomInboxPrefix("_INBOX_"+user))
//
// With the default prefix (_INBOX) every request is refused with a
// permissions violation (reported to the connection's error handler) and
// Consume ends with a timeout. Create needs the right to create consumers,
// which partner users do not have.
func Consume(ctx context.Context, js jetstream.JetStream, cfg ConsumeConfig, h HandlerFunc) error {
	cfg.setDefaults()
	var errs configErrors
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if js == nil {
		errs.add("js is nil")
	}
	if h == nil {
		errs.add("handler is nil")
	}
	if err := errs.err(); err != nil {
		return err
	}
	cons, err := consumer(ctx, js, cfg)
	if err != nil {
		return err
	}

	c := &natsConsumer{
		cfg:        cfg,
		dispatcher: dispatcher{handler: h, store: cfg.Idempotency, logger: cfg.Logger},
		gone:       make(chan error, 1),
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) { c.handle(ctx, msg) },
		jetstream.PullMaxMessages(consumeBuffer),
		jetstream.ConsumeErrHandler(c.consumeError))
	if err != nil {
		return fmt.Errorf("consume %s/%s: %w", cfg.Stream, cfg.Consumer, err)
	}

	var result error
	select {
	case <-ctx.Done():
	case result = <-c.gone:
	case <-cc.Closed():
		return fmt.Errorf("consume %s/%s: stopped: %w", cfg.Stream, cfg.Consumer, c.lastError())
	}
	c.stopping.Store(true)
	cc.Drain()
	<-cc.Closed()
	return result
}

// consumer finds or creates the durable consumer.
func consumer(ctx context.Context, js jetstream.JetStream, cfg ConsumeConfig) (jetstream.Consumer, error) {
	if !cfg.Create {
		cons, err := js.Consumer(ctx, cfg.Stream, cfg.Consumer)
		if err != nil {
			return nil, fmt.Errorf("consumer %s/%s: %w", cfg.Stream, cfg.Consumer, err)
		}
		return cons, nil
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       cfg.Consumer,
		Description:   "ketenbus deliveries for " + cfg.Partner,
		FilterSubject: events.DeliverySubject(cfg.Partner),
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: cfg.MaxAckPending,
		AckWait:       cfg.AckWait,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s/%s: %w", cfg.Stream, cfg.Consumer, err)
	}
	return cons, nil
}

type natsConsumer struct {
	cfg        ConsumeConfig
	dispatcher dispatcher
	stopping   atomic.Bool
	gone       chan error

	mu      sync.Mutex
	lastErr error
}

// handle processes one message; the pull consumer calls it for one message
// at a time.
func (c *natsConsumer) handle(ctx context.Context, msg jetstream.Msg) {
	log := c.cfg.Logger
	if c.stopping.Load() {
		// Fetched but not handled before the stop: give it back at once.
		_ = msg.Nak()
		return
	}
	var numDelivered uint64 = 1
	var stamp time.Time
	if md, err := msg.Metadata(); err == nil {
		numDelivered, stamp = md.NumDelivered, md.Timestamp
	}

	var e event.Event
	err := json.Unmarshal(msg.Data(), &e)
	if err == nil {
		err = e.Validate()
	}
	if err != nil {
		log.ErrorContext(ctx, "message is not a structured CloudEvent, terminated",
			slog.String("subject", msg.Subject()), slog.Any("error", err))
		_ = msg.TermWithReason("not a structured CloudEvent")
		return
	}
	header := http.Header(msg.Headers()).Clone()
	if _, ok := e.Extensions()[ExtensionSequence]; !ok {
		if seq, err := strconv.ParseUint(header.Get(HeaderEventSequence), 10, 64); err == nil {
			e.SetExtension(ExtensionSequence, strconv.FormatUint(seq, 10))
		}
	}
	d := Delivery{ID: DeliveryID(header, e), Subscription: header.Get(HeaderSubscription),
		Timestamp: stamp, NumDelivered: numDelivered, Header: header}
	d.Sequence, _ = Sequence(e)
	traceFrom(&d, e)

	out, after, err := c.dispatcher.dispatch(withDelivery(ctx, d), d.ID, e)
	log = log.With(logID(e.ID()), slog.String("type", e.Type()),
		slog.Uint64("sequence", d.Sequence), slog.Uint64("delivered", numDelivered))
	var ackErr error
	switch out {
	case outcomeDone, outcomeDuplicate:
		ackErr = msg.Ack()
	case outcomeRetry:
		log.InfoContext(ctx, "handler asked for a retry", slog.Duration("after", after), slog.Any("error", err))
		ackErr = msg.NakWithDelay(after)
	case outcomeReject:
		log.WarnContext(ctx, "handler rejected the event, terminated", slog.Any("error", err))
		ackErr = msg.TermWithReason(err.Error())
	case outcomeGone:
		log.WarnContext(ctx, "handler ended the subscription, consuming stops", slog.Any("error", err))
		ackErr = msg.Nak()
		c.stopping.Store(true)
		select {
		case c.gone <- fmt.Errorf("consume %s/%s: %w", c.cfg.Stream, c.cfg.Consumer, err):
		default:
		}
	default:
		delay := backoff(numDelivered)
		log.ErrorContext(ctx, "handler failed, retrying", slog.Duration("after", delay), slog.Any("error", err))
		ackErr = msg.NakWithDelay(delay)
	}
	if ackErr != nil {
		log.WarnContext(ctx, "acknowledging failed; the message comes back after AckWait", slog.Any("error", ackErr))
	}
}

// DeliveryID returns the delivery id ([Delivery.ID]) of a NATS delivery
// message with headers h and event e: the [HeaderDeliveryID] header. A
// message stored by an older ketenbus lacks it; then the id is derived as
// ketenbus derives it, from the [HeaderPartner] and [HeaderSubscription]
// headers and the event's source and id ([events.DeliveryID]), or, without
// those headers, it is the event's Nats-Msg-Id ([events.MsgID]): never the
// bare event id, which two sources may share.
func DeliveryID(h http.Header, e event.Event) string {
	if id := h.Get(HeaderDeliveryID); id != "" {
		return id
	}
	eventMsgID := events.MsgID(e.Source(), e.ID())
	partner, subscription := h.Get(HeaderPartner), h.Get(HeaderSubscription)
	if partner == "" || subscription == "" {
		return eventMsgID
	}
	return events.DeliveryID(partner, subscription, eventMsgID)
}

// backoff is the redelivery delay after a handler's failure, by the number
// of deliveries so far.
func backoff(numDelivered uint64) time.Duration {
	switch {
	case numDelivered <= 1:
		return time.Second
	case numDelivered == 2:
		return 5 * time.Second
	default:
		return 30 * time.Second
	}
}

func (c *natsConsumer) consumeError(_ jetstream.ConsumeContext, err error) {
	c.cfg.Logger.Warn("consuming deliveries", slog.String("stream", c.cfg.Stream),
		slog.String("consumer", c.cfg.Consumer), slog.Any("error", err))
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

func (c *natsConsumer) lastError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastErr == nil {
		return errors.New("consumer closed")
	}
	return c.lastErr
}
