package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/outbox"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
	"github.com/ketenbus/ketenbus/services/shared/wmjetstream"
)

// Config configures the router.
type Config struct {
	// Region holds the partners and their subscriptions; required.
	Region *region.Config
	// JetStream is where EVENTS is read and DELIVERY written; required.
	JetStream jetstream.JetStream
	// Durable is the router's consumer on EVENTS; replicas share it.
	// Default "router".
	Durable string
	// MaxAckPending bounds events in flight. Default 1024.
	MaxAckPending int
	// AckWait is how long an event may take before JetStream redelivers
	// it. Default 30s.
	AckWait time.Duration
	// Logger; default slog.Default(). Never receives data fields.
	Logger *slog.Logger
	// Metrics registry; default a new one.
	Metrics *prometheus.Registry
	// TracerProvider gets a span per routed event ("router.route"), the
	// child of the event's traceparent; default otel.GetTracerProvider().
	// See package telemetry.
	TracerProvider trace.TracerProvider
}

func (c *Config) setDefaults() {
	if c.Durable == "" {
		c.Durable = bus.ConsumerRouter
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = 1024
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.TracerProvider == nil {
		c.TracerProvider = otel.GetTracerProvider()
	}
}

// Validate reports a config the router cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.Region == nil {
		errs = append(errs, errors.New("router: Region is missing"))
	}
	if c.JetStream == nil {
		errs = append(errs, errors.New("router: JetStream is missing"))
	}
	if c.MaxAckPending < 1 {
		errs = append(errs, errors.New("router: MaxAckPending must be at least 1"))
	}
	return errors.Join(errs...)
}

// Router routes EVENTS to DELIVERY.
type Router struct {
	cfg     Config
	table   *Table
	js      jetstream.JetStream
	metrics *metrics
	// native holds the NATS-native partners: they pull from DELIVERY
	// themselves, so the router writes their processing log.
	native map[string]bool
	outbox *outbox.Outbox
	tracer trace.Tracer // nil: not tracing
}

// New compiles the region's subscriptions; a bad subscription is an error
// naming it.
func New(cfg Config) (*Router, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, err := NewTable(cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	native := map[string]bool{}
	for _, p := range cfg.Region.Partners {
		if p.Delivery.NATS != nil {
			native[p.ID] = true
		}
	}
	return &Router{cfg: cfg, table: t, js: cfg.JetStream, metrics: newMetrics(cfg.Metrics, cfg.JetStream, cfg.Durable),
		native: native, outbox: outbox.New(outbox.Config{JetStream: cfg.JetStream, Region: cfg.Region}),
		tracer: telemetry.Tracer(cfg.TracerProvider, "router")}, nil
}

// Run routes until ctx ends. The consumer is durable, so a restarted
// router continues where it stopped.
func Run(ctx context.Context, cfg Config) error {
	r, err := New(cfg)
	if err != nil {
		return err
	}
	return r.Run(ctx)
}

// Run runs the Watermill router until ctx ends.
func (r *Router) Run(ctx context.Context) error {
	cc := bus.RouterConsumerConfig(r.cfg.Durable, r.cfg.AckWait, r.cfg.MaxAckPending)
	return wmjetstream.Consume(ctx, r.js, events.StreamEvents, cc, "router", r.cfg.Logger, r.Handle)
}

// Handle routes one event from EVENTS: it stores every delivery and the
// processing log's record of every delivery to a NATS-native partner, in
// one round of asynchronous publishes, and the event is acked only when
// JetStream has stored them all. Handle returns once they are published;
// the wait for their PubAcks is left to wmjetstream.Later. An event that
// cannot be read is logged and acked: retrying cannot fix it, and EVENTS
// keeps it. When tracing, the event gets a "router.route" span, the child
// of its traceparent, and its deliveries carry that span's context in
// their traceparent and tracestate headers.
func (r *Router) Handle(msg *message.Message) error {
	start := time.Now()
	seq := wmjetstream.StreamSeq(msg)
	subject := msg.Metadata.Get(wmjetstream.MetaSubject)
	routing, err := r.table.Route(msg.Payload, seq, msg.UUID)
	ds := routing.Deliveries
	if err != nil {
		r.metrics.unreadable.Inc()
		r.cfg.Logger.Error("event not routable; it stays in EVENTS", slog.Uint64("sequence", seq), slog.String("subject", subject), slog.String("error", err.Error()))
		return nil
	}
	ctx, span := r.startSpan(msg.Context(), routing, subject, seq, start)
	stored := wmjetstream.Timestamp(msg)
	failed := func(err error) error {
		r.cfg.Logger.Warn("store deliveries failed; the event comes back", slog.Uint64("sequence", seq), slog.String("error", err.Error()))
		wmjetstream.SetNakDelay(msg, time.Second)
		telemetry.Fail(span, telemetry.ErrorType(err), "store deliveries failed")
		span.End()
		return err
	}
	routed := func() error {
		span.SetAttributes(telemetry.AttrDeliveries.Int(len(ds)))
		span.End()
		event := eventOf(subject)
		for _, d := range ds {
			r.metrics.deliveries.WithLabelValues(d.Partner, event).Inc()
		}
		if len(ds) == 0 {
			r.metrics.unrouted.WithLabelValues(event).Inc()
			if routing.Ontvanger != "" {
				r.cfg.Logger.Warn("directed event matched no subscription of its ontvanger; it stays in EVENTS",
					slog.String("type", routing.Type), slog.String("ontvanger", routing.Ontvanger), slog.Uint64("sequence", seq))
			}
		}
		r.metrics.lag.Observe(time.Since(stored).Seconds())
		r.metrics.duration.Observe(time.Since(start).Seconds())
		return nil
	}
	if len(ds) == 0 {
		return routed()
	}
	ttl := bus.Remaining(r.cfg.Region.RetentionOf(routing.Type), stored, start)
	msgs, err := r.messages(ctx, routing, seq, ttl, start)
	if err != nil {
		return failed(err)
	}
	p := streams.StartPublish(r.js, msgs)
	return wmjetstream.Later(msg, func() error {
		if err := r.await(p, ds); err != nil {
			return failed(err)
		}
		return routed()
	})
}

// messages returns the DELIVERY messages of routing, with a TTL of ttl and,
// when tracing, the trace context of ctx, and the processing log's record
// of those to NATS-native partners. Every message has a fixed
// Nats-Msg-Id, so publishing them all again after a failure stores each
// once.
func (r *Router) messages(ctx context.Context, routing Routing, seq uint64, ttl time.Duration, start time.Time) ([]*nats.Msg, error) {
	ds := routing.Deliveries
	entries := r.logEntries(routing, seq, start, "")
	msgs := make([]*nats.Msg, len(ds), len(ds)+len(entries))
	seqText, ttlText := []string{strconv.FormatUint(seq, 10)}, bus.TTLValue(ttl)
	var tc telemetry.Carrier
	if r.tracer != nil {
		tc = telemetry.Inject(ctx)
	}
	for i := range ds {
		msgs[i] = ds[i].msg(seqText, ttlText, nil)
		telemetry.SetNATSHeader(msgs[i].Header, tc)
	}
	records, err := r.outbox.LogMsgs(entries)
	if err != nil {
		return nil, err
	}
	return append(msgs, records...), nil
}

// await waits about 10s at most for the PubAcks of p, the messages of ds
// and then their processing log records.
func (r *Router) await(p *streams.Publishing, ds []Delivery) error {
	for i, res := range p.WaitUpTo(10 * time.Second) {
		switch {
		case res.Err == nil:
		case i < len(ds):
			return fmt.Errorf("store delivery for %s: %w", ds[i].Partner, res.Err)
		default:
			return fmt.Errorf("store processing log record: %w", res.Err)
		}
	}
	return nil
}

// msg returns the DELIVERY message of d, the delivery of the event stored
// at sequence seqText (in decimal, shared by an event's deliveries), with
// a Nats-TTL of ttlText (bus.TTLValue; nil: none). replay is nil for
// live delivery; for a replay it holds the replay id, and the message
// carries it in the Ketenbus-Replay header and in its Nats-Msg-Id. Both
// carry the delivery id, the live delivery's Nats-Msg-Id, in the
// Ketenbus-Delivery-Id header: a partner sees a replay as the same
// delivery. The live router and replay both build their deliveries here,
// so a replayed delivery differs from the live one only in Nats-Msg-Id and
// Ketenbus-Replay. The header values are shared with other messages: read
// them, never write.
func (d *Delivery) msg(seqText, ttlText, replay []string) *nats.Msg {
	h := d.route.header
	header := make(nats.Header, 10) // room for the trace context
	id := []string{d.MsgID}
	header[jetstream.MsgIDHeader] = id
	header[bus.HeaderDeliveryID] = id
	header[bus.HeaderPartner] = h.partner
	header[bus.HeaderSubscription] = h.subscription
	header[bus.HeaderPurpose] = h.purpose
	header[bus.HeaderEventSequence] = seqText
	if ttlText != nil {
		header[jetstream.MsgTTLHeader] = ttlText
	}
	if replay != nil {
		header[jetstream.MsgIDHeader] = []string{bus.ReplayMsgID(replay[0], d.MsgID)}
		header[bus.HeaderReplay] = replay
	}
	return &nats.Msg{Subject: events.DeliverySubject(d.Partner), Data: d.Body, Header: header}
}

// logEntries returns the processing log records of the deliveries of
// routing to NATS-native partners; replay is the replay id of a replay,
// "" live.
func (r *Router) logEntries(routing Routing, seq uint64, start time.Time, replay string) []audit.Entry {
	var entries []audit.Entry
	for _, d := range routing.Deliveries {
		if !r.native[d.Partner] {
			continue
		}
		entries = append(entries, audit.Entry{Partner: d.Partner, Record: audit.NewRecord(audit.Processing{
			Name:         audit.NameDeliver,
			Activity:     d.Purpose,
			Partner:      d.Partner,
			Subscription: d.Subscription,
			Event:        routing.event(seq),
			Outcome:      audit.OutcomeStored,
			Replay:       replay,
			Start:        start,
			End:          time.Now(),
		})})
	}
	return entries
}

// eventOf returns "<event>.<version>" of an EVENTS subject
// (ketenbus.events.<event>.<version>.<partner>), for metric labels.
func eventOf(subject string) string {
	rest, ok := strings.CutPrefix(subject, strings.TrimSuffix(events.SubjectEventsAll, ">"))
	if !ok {
		return "unknown"
	}
	i := strings.LastIndexByte(rest, '.')
	if i < 0 || strings.Count(rest, ".") != 2 {
		return "unknown"
	}
	return rest[:i]
}

// startSpan starts the "router.route" consumer span of an event of the
// EVENTS subject routed since start, as the child of its traceparent,
// with the messaging semantic conventions' attributes; it returns ctx and
// telemetry.NoSpan when not tracing.
func (r *Router) startSpan(ctx context.Context, routing Routing, subject string, seq uint64, start time.Time) (context.Context, trace.Span) {
	if r.tracer == nil {
		return ctx, telemetry.NoSpan
	}
	ctx = telemetry.Extract(ctx, events.Text(routing.traceparent), events.Text(routing.tracestate))
	return r.tracer.Start(ctx, telemetry.SpanRoute,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithTimestamp(start),
		trace.WithAttributes(telemetry.Process(subject, r.cfg.Durable)...),
		trace.WithAttributes(
			telemetry.EventID(events.Text(routing.id)),
			telemetry.AttrEventType.String(routing.Type),
			telemetry.AttrSequence.Int64(int64(seq)),
		))
}
