package adapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
	"github.com/ketenbus/ketenbus/services/shared/outbox"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
	"github.com/ketenbus/ketenbus/services/shared/webhookout"
	"github.com/ketenbus/ketenbus/services/shared/wmjetstream"
)

// Reasons of dead letters that are not "http <status>" or a transport
// failure.
const (
	reasonRetired   = "subscription retired (410)"
	reasonExhausted = "retry schedule exhausted: "
)

const (
	// retryStore is the nak delay after a failed write to JetStream.
	retryStore = time.Second
	// maxRetryAfter caps the Retry-After a partner can ask for.
	maxRetryAfter = 24 * time.Hour
)

// deps is what every partner's handler uses besides its own webhook,
// given to newPartner: the adapter's clock, HTTP client, stores and
// instruments. Its values are safe for concurrent use.
type deps struct {
	// dlq stores dead letters (stream DLQ).
	dlq dlqPublisher
	// retired is the set of retired subscriptions, open and watched.
	retired *streams.Retired
	// outbox writes the processing log: one record per delivery that ends.
	outbox *outbox.Outbox
	// activity publishes every attempt and circuit change for the monitor.
	activity *activity.Publisher
	// keys opens sealed data fields; nil when the region has no field
	// key, and then no subscription may list a sensitive field.
	keys *fieldcrypt.Keys
	// client sends the requests (webhookout.NewClient).
	client  *http.Client
	metrics *metrics
	// tracer is nil when not tracing.
	tracer trace.Tracer
	now    func() time.Time
}

// dlqPublisher stores a dead letter and waits for the stream's ack.
type dlqPublisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

var _ dlqPublisher = jetstream.JetStream(nil)

// partnerSetup is a webhook partner as New reads it from the config.
type partnerSetup struct {
	id string
	// fields holds, per subscription, the data fields it lists: only those
	// are opened when sealed.
	fields map[string]map[string]bool
	// sensitive holds the subscriptions that list a sensitive field.
	sensitive map[string]bool
	hook      region.Webhook
	signer    *webhook.Signer
	token     string
	logger    *slog.Logger
}

// partner delivers to one partner's webhook. Handle is its Watermill
// handler; it is safe for concurrent use.
type partner struct {
	partnerSetup
	deps
	sched   schedule
	breaker *breaker

	mu          sync.Mutex
	lastFailure string // reason of the last failed request, for dead letters held back by the breaker
	lastStatus  int
}

// newPartner returns the handler of the partner s with its circuit
// breaker (Breaker.Failures and Breaker.Cooldown of bc), using d.
func newPartner(s partnerSetup, d deps, bc BreakerConfig) *partner {
	p := &partner{partnerSetup: s, deps: d, sched: schedule(s.hook.RetrySchedule)}
	circuit := d.metrics.circuitOpen.WithLabelValues(s.id)
	p.breaker = newBreaker(bc.Failures, bc.Cooldown, min(s.hook.Timeout, bc.Cooldown),
		func(from, to breakerState) {
			p.noteCircuit(to)
			if to == breakerClosed {
				circuit.Set(0)
				p.logger.Info("circuit breaker closed; delivering again", slog.String("from", from.String()))
				return
			}
			circuit.Set(1)
			if to == breakerOpen {
				p.logger.Warn("circuit breaker open; requests paused", slog.String("from", from.String()), slog.Duration("cooldown", bc.Cooldown))
			}
		})
	return p
}

// deliveryInfo is what the broker and the headers say about a delivery.
type deliveryInfo struct {
	subscription string
	eventID      string // as logs and records show it: a BSN in it replaced
	// deliveryID is the delivery id (bus.DeliveryID), the webhook-id;
	// "" before the event is read.
	deliveryID string
	attempt    int       // NumDelivered, this delivery included
	first      time.Time // when DELIVERY stored it
	start      time.Time // when this attempt began
	// event is the delivered event, once read: the processing log's
	// record reads its context attributes.
	event *webhookout.Event
	// span is the attempt's "adapter.deliver" span; telemetry.NoSpan
	// when not tracing or before the request.
	span trace.Span
}

func (p *partner) info(msg *message.Message, now time.Time) deliveryInfo {
	d := deliveryInfo{
		subscription: msg.Metadata.Get(bus.HeaderSubscription),
		attempt:      int(wmjetstream.NumDelivered(msg)),
		first:        wmjetstream.Timestamp(msg),
		start:        now,
		span:         telemetry.NoSpan,
	}
	if d.attempt < 1 {
		d.attempt = 1
	}
	if d.first.IsZero() {
		d.first = now
	}
	return d
}

// open returns the delivery's event with the sealed fields its
// subscription lists opened and every other sealed field removed. The
// message itself (what a dead letter keeps) stays sealed.
func (p *partner) open(body []byte, subscription string) (*webhookout.Event, error) {
	allowed := p.fields[subscription]
	if p.keys == nil {
		allowed = nil // no key: nothing can be opened, so nothing may be
	}
	opened, err := p.keys.Open(body, func(f string) bool { return allowed[f] })
	switch {
	case errors.Is(err, fieldcrypt.ErrNotEvent):
		return nil, webhookout.ErrUnreadable
	case err != nil:
		return nil, fmt.Errorf("sensitive field cannot be opened: %w", err)
	}
	return webhookout.ParseEvent(opened)
}

// Handle delivers one message of DELIVERY and settles it itself: Ack
// (returning nil) when delivered or stored in the DLQ, Nack with a delay
// for a retry. It never returns an error, so a planned retry is not
// reported as a handler failure. msg.Context() ends when the adapter
// stops; an attempt cut short by that is nacked without a verdict.
func (p *partner) Handle(msg *message.Message) error {
	ctx := msg.Context()
	now := p.now()
	d := p.info(msg, now)

	if r, ok := p.retired.Get(p.id, d.subscription); ok {
		return p.deadLetter(ctx, msg, d, deadLetter{reason: reasonRetired, status: r.Status}, outcomeRetired)
	}
	ev, err := p.open(msg.Payload, d.subscription)
	if err != nil {
		return p.deadLetter(ctx, msg, d, deadLetter{reason: err.Error()}, outcomeDLQ)
	}
	d.eventID, d.event = events.RedactBSNs(ev.ID()), ev // the publisher chose the id
	d.deliveryID = bus.DeliveryID(msg.Metadata.Get(bus.HeaderDeliveryID), p.id, d.subscription, ev.StringAttr("source"), ev.ID())
	req, err := p.request(ctx, ev, d)
	if err != nil {
		// A local failure: nothing left, so the endpoint is not to blame
		// (the breaker is not asked) and retrying cannot help.
		ans := webhookout.Answer{Local: err.Error()}
		return p.settle(ctx, msg, d, ans, webhookout.Classify(ans), now)
	}

	ok, probe, wait := p.breaker.allow(now)
	if !ok {
		// Held back: treated as a failed attempt whose wait is cut to the
		// breaker's remaining cooldown.
		age := now.Sub(d.first)
		if p.sched.exhausted(d.attempt, age) {
			reason, status := p.last()
			return p.deadLetter(ctx, msg, d, deadLetter{reason: reasonExhausted + "circuit open after " + reason, status: status}, outcomeDLQ)
		}
		return nak(msg, min(wait, p.sched.delay(d.attempt, age)))
	}

	ctx, d.span = p.startSpan(ctx, msg, req, d)
	defer d.span.End()
	ans := p.send(ctx, req)
	traceAnswer(d.span, ans)
	if ctx.Err() != nil {
		p.breaker.done(p.now(), probe, webhookout.HealthUnknown)
		return nak(msg, 0)
	}
	now = p.now()
	out := webhookout.Classify(ans)
	p.breaker.done(now, probe, out.Health)
	return p.settle(ctx, msg, d, ans, out, now)
}

// settle does what out, webhookout.Classify of ans, says: ack a delivered
// delivery once logged, retire the subscription, nak for a retry, or
// store a dead letter.
func (p *partner) settle(ctx context.Context, msg *message.Message, d deliveryInfo, ans webhookout.Answer, out webhookout.Outcome, now time.Time) error {
	switch out.Action {
	case webhookout.Delivered:
		if err := p.log(ctx, msg, d, outcomeDelivered, "", now); err != nil {
			// The partner may get the delivery again, with the same
			// webhook-id: an unlogged delivery is not allowed.
			return p.notLogged(ctx, msg, d, ans.Status, err)
		}
		p.metrics.deliveries.WithLabelValues(p.id, outcomeDelivered).Inc()
		p.note(d, outcomeDelivered, ans.Status, "", now)
		p.logger.Debug("delivered", p.attrs(d, ans.Status)...)
		return nil
	case webhookout.Retire:
		return p.retire(ctx, msg, d, ans, now)
	case webhookout.Retry:
		p.setLast(ans)
		age := now.Sub(d.first)
		if p.sched.exhausted(d.attempt, age) {
			return p.deadLetter(ctx, msg, d, deadLetter{reason: reasonExhausted + ans.Reason(), status: ans.Status, body: excerpt(ans.Body)}, outcomeDLQ)
		}
		delay := p.sched.delay(d.attempt, age)
		if out.HonorRetryAfter && ans.RetryAfter > 0 {
			delay = max(delay, min(ans.RetryAfter, maxRetryAfter))
		}
		p.metrics.deliveries.WithLabelValues(p.id, outcomeRetry).Inc()
		p.note(d, outcomeRetry, ans.Status, ans.Reason(), now)
		p.logger.Warn("delivery failed; retried later", append(p.attrs(d, ans.Status), slog.String("reason", ans.Reason()), slog.Duration("retry_in", delay))...)
		return nak(msg, delay)
	default:
		// A local failure, 400, 401, 403, 404, 413, 415, every other 4xx,
		// 1xx and 3xx: retrying cannot help.
		return p.deadLetter(ctx, msg, d, deadLetter{reason: ans.Reason(), status: ans.Status, body: excerpt(ans.Body)}, outcomeDLQ)
	}
}

// request returns the attempt's request, built and checked whole (see
// webhookout.Build): the CloudEvent in the partner's mode, webhook-id the
// delivery id, the Ketenbus-Partner and Ketenbus-Subscription headers
// that tell a partner's subscriptions apart, the common headers and, when
// not tracing, the event's traceparent and tracestate extensions (when
// tracing, send sets the attempt span's). Its error, wrapping
// webhookout.ErrLocal, is a local failure.
func (p *partner) request(ctx context.Context, ev *webhookout.Event, d deliveryInfo) (*http.Request, error) {
	h := http.Header{}
	webhookout.SetCommonHeaders(h, p.token)
	h.Set(bus.HeaderPartner, p.id)
	h.Set(bus.HeaderSubscription, d.subscription)
	if p.tracer == nil {
		if tp := ev.StringAttr(telemetry.Traceparent); tp != "" {
			h.Set(telemetry.Traceparent, tp)
			if ts := ev.StringAttr(telemetry.Tracestate); ts != "" {
				h.Set(telemetry.Tracestate, ts)
			}
		}
	}
	return webhookout.Build(ctx, ev, webhookout.Request{
		URL: p.hook.URL, Mode: p.hook.Mode, ID: d.deliveryID, Time: p.now(), Signer: p.signer, Header: h,
	})
}

// send makes one request built by request with webhookout.Send, bounded
// by the webhook timeout, with the W3C trace context of the attempt's
// span in ctx when tracing, and observes its latency. Whatever fails here
// is the endpoint's (or the network's): no answer, a timeout or an
// answer.
func (p *partner) send(ctx context.Context, req *http.Request) webhookout.Answer {
	if p.tracer != nil {
		telemetry.SetHTTPHeader(ctx, req.Header)
	}
	ans := webhookout.Send(ctx, p.client, req, p.hook.Timeout, p.now)
	p.metrics.latency.WithLabelValues(p.id).Observe(ans.Latency.Seconds())
	return ans
}

// retire records the subscription as retired, raises the alert and puts
// the delivery in the DLQ.
func (p *partner) retire(ctx context.Context, msg *message.Message, d deliveryInfo, ans webhookout.Answer, now time.Time) error {
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	created, err := p.retired.Retire(sctx, p.id, d.subscription, streams.Retirement{
		RetiredAt: now.UTC(),
		Status:    ans.Status,
		Reason:    "the webhook endpoint answered 410 Gone",
	})
	cancel()
	if err != nil {
		p.logger.Warn("retirement not recorded; the delivery comes back", append(p.attrs(d, ans.Status), slog.String("error", err.Error()))...)
		return nak(msg, retryStore)
	}
	if created {
		p.metrics.retired.WithLabelValues(p.id, d.subscription).Inc()
		p.logger.Error("subscription retired: the webhook endpoint answered 410 Gone; its deliveries go to the DLQ until the key is deleted from the bucket",
			append(p.attrs(d, ans.Status), slog.String("bucket", bus.RetiredBucket), slog.String("key", bus.RetiredKey(p.id, d.subscription)))...)
	}
	return p.deadLetter(ctx, msg, d, deadLetter{reason: reasonRetired, status: ans.Status, body: excerpt(ans.Body)}, outcomeRetired)
}

// deadLetter is what a dead letter says beyond the delivery itself.
type deadLetter struct {
	reason string
	status int    // 0: no response
	body   string // response body excerpt
}

// deadLetter stores the delivery in the DLQ and acks it (returns nil)
// once stored; when the DLQ cannot store it, the delivery is nacked and
// comes back.
func (p *partner) deadLetter(ctx context.Context, msg *message.Message, d deliveryInfo, dl deadLetter, outcome string) error {
	now := p.now()
	m := nats.NewMsg(events.DLQSubject(p.id))
	m.Data = msg.Payload
	for k, v := range msg.Metadata {
		// Keep the delivery's headers; leave out the subscriber's metadata
		// and the broker's own headers (TTL, expectations).
		if strings.HasPrefix(k, "_") || strings.HasPrefix(k, "Nats-") {
			continue
		}
		m.Header.Set(k, v)
	}
	m.Header.Set(jetstream.MsgIDHeader, dlqMsgID(p.id, msg))
	if d.deliveryID != "" {
		// Also for a delivery stored before the router set it: a DLQ retry
		// is the same delivery, with the same webhook-id.
		m.Header.Set(bus.HeaderDeliveryID, d.deliveryID)
	}
	m.Header.Set(bus.HeaderDLQReason, webhookout.HeaderSafe(dl.reason))
	if dl.status != 0 {
		m.Header.Set(bus.HeaderDLQStatus, strconv.Itoa(dl.status))
	}
	if dl.body != "" && !p.sensitive[d.subscription] {
		// A partner may echo what it was sent; a subscription that gets
		// opened sensitive fields keeps its answers out of the DLQ.
		m.Header.Set(bus.HeaderDLQBody, dl.body)
	}
	m.Header.Set(bus.HeaderDLQAttempts, strconv.Itoa(d.attempt))
	m.Header.Set(bus.HeaderDLQFirstAttempt, d.first.UTC().Format(time.RFC3339Nano))
	m.Header.Set(bus.HeaderDLQLastAttempt, now.UTC().Format(time.RFC3339Nano))
	if ttl, ok := bus.ParseTTL(msg.Metadata.Get(jetstream.MsgTTLHeader)); ok {
		// The dead letter expires with the delivery it keeps.
		bus.SetTTL(m.Header, bus.Remaining(ttl, d.first, now))
	}

	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if _, err := p.dlq.PublishMsg(sctx, m); err != nil {
		if ctx.Err() == nil {
			p.logger.Warn("dead letter not stored; the delivery comes back", append(p.attrs(d, dl.status), slog.String("error", err.Error()))...)
		}
		return nak(msg, retryStore)
	}
	if err := p.log(ctx, msg, d, outcome, dl.reason, now); err != nil {
		// Stored in the DLQ, not logged: the delivery comes back, and
		// storing the dead letter again stores it once.
		return p.notLogged(ctx, msg, d, dl.status, err)
	}
	p.metrics.deliveries.WithLabelValues(p.id, outcome).Inc()
	p.note(d, outcome, dl.status, dl.reason, now)
	level := slog.LevelError
	if outcome == outcomeRetired {
		level = slog.LevelWarn // the retirement itself was the alert
	}
	p.logger.Log(ctx, level, "delivery stored in the DLQ", append(p.attrs(d, dl.status), slog.String("reason", dl.reason), slog.String("subject", m.Subject))...)
	return nil
}

// log writes the record of the delivery that ended at end with outcome
// (audit.OutcomeDelivered, OutcomeDLQ or OutcomeRetired, the same words
// as the metric's) to the processing log, and waits until it is stored.
// The event's context attributes come from the delivered body; its data is
// never read.
func (p *partner) log(ctx context.Context, msg *message.Message, d deliveryInfo, outcome, reason string, end time.Time) error {
	ev := eventAttrs(msg.Payload, d.event)
	if ev.ID == "" {
		// Unreadable: the delivery's own id keeps its record apart.
		ev.ID = dlqMsgID(p.id, msg)
	}
	ev.Sequence, _ = strconv.ParseUint(msg.Metadata.Get(bus.HeaderEventSequence), 10, 64)
	rec := audit.NewRecord(audit.Processing{
		Name:         audit.NameDeliver,
		Activity:     msg.Metadata.Get(bus.HeaderPurpose),
		Partner:      p.id,
		Subscription: d.subscription,
		Event:        ev,
		Outcome:      outcome,
		Reason:       reason,
		Replay:       msg.Metadata.Get(bus.HeaderReplay),
		Start:        d.start,
		End:          end,
	})
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return p.outbox.Log(sctx, audit.Entry{Partner: p.id, Record: rec})
}

// notLogged nacks a delivery whose record could not be written, so it
// comes back.
func (p *partner) notLogged(ctx context.Context, msg *message.Message, d deliveryInfo, status int, err error) error {
	if ctx.Err() == nil {
		p.logger.Warn("processing log not written; the delivery comes back", append(p.attrs(d, status), slog.String("error", err.Error()))...)
	}
	return nak(msg, retryStore)
}

// eventAttrs returns the context attributes of a delivered event: from ev
// when it was read already, else from body (a structured CloudEvent).
// Whatever cannot be read stays empty.
func eventAttrs(body []byte, ev *webhookout.Event) audit.Event {
	attr := func(name string) string { return "" }
	if ev != nil {
		attr = ev.StringAttr
	} else if ms, err := events.Members(body); err == nil {
		attr = func(name string) string { return events.LookupText(ms, name) }
	}
	return audit.Event{ID: attr("id"), Source: attr("source"), Type: attr("type"),
		Subject: attr("subject"), Traceparent: attr("traceparent")}
}

// dlqMsgID is the dead letter's Nats-Msg-Id (bus.DeadLetterMsgID).
func dlqMsgID(partner string, msg *message.Message) string {
	return bus.DeadLetterMsgID(partner, msg.Metadata.Get(jetstream.MsgIDHeader), wmjetstream.StreamSeq(msg))
}

func (p *partner) attrs(d deliveryInfo, status int) []any {
	a := []any{slog.String("subscription", d.subscription), slog.Int("attempt", d.attempt)}
	if d.eventID != "" {
		a = append(a, slog.String("event_id", d.eventID))
	}
	if status != 0 {
		a = append(a, slog.Int("status", status))
	}
	return a
}

func (p *partner) setLast(a webhookout.Answer) {
	p.mu.Lock()
	p.lastFailure, p.lastStatus = a.Reason(), a.Status
	p.mu.Unlock()
}

func (p *partner) last() (string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastFailure == "" {
		return "failures", 0
	}
	return p.lastFailure, p.lastStatus
}

// nak nacks msg for redelivery by the broker after d (at once when d is
// zero).
func nak(msg *message.Message, d time.Duration) error {
	if d > 0 {
		wmjetstream.SetNakDelay(msg, d)
	}
	msg.Nack()
	return nil
}

// startSpan starts the "adapter.deliver" client span of the attempt d
// with req, as the child of the router's span (the delivery's traceparent
// header) or else of the event's traceparent extension, with the HTTP
// semantic conventions' attributes of req. It returns ctx and
// telemetry.NoSpan when not tracing.
func (p *partner) startSpan(ctx context.Context, msg *message.Message, req *http.Request, d deliveryInfo) (context.Context, trace.Span) {
	if p.tracer == nil {
		return ctx, telemetry.NoSpan
	}
	parent := telemetry.Extract(ctx, msg.Metadata.Get(telemetry.Traceparent), msg.Metadata.Get(telemetry.Tracestate))
	if !trace.SpanContextFromContext(parent).IsValid() {
		parent = telemetry.Extract(ctx, d.event.StringAttr(telemetry.Traceparent), d.event.StringAttr(telemetry.Tracestate))
	}
	return p.tracer.Start(parent, telemetry.SpanDeliver,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(d.start),
		trace.WithAttributes(telemetry.HTTPClient(req.Method, req.URL)...),
		trace.WithAttributes(
			telemetry.AttrPartner.String(p.id),
			telemetry.AttrSubscription.String(d.subscription),
			telemetry.EventID(d.eventID),
			telemetry.AttrEventType.String(d.event.StringAttr("type")),
			telemetry.AttrAttempt.Int(d.attempt),
		))
}

// traceAnswer records the answer of an attempt on its span: the status,
// and an error for a status other than 2xx (error.type the status code:
// a webhook that redirects failed too) or for no answer at all
// (error.type _OTHER).
func traceAnswer(span trace.Span, a webhookout.Answer) {
	if !span.IsRecording() {
		return
	}
	if a.Status == 0 {
		telemetry.Fail(span, telemetry.ErrorOther, a.Reason())
		return
	}
	telemetry.HTTPStatus(span, a.Status, a.Status < 200 || a.Status > 299, a.Reason())
}
