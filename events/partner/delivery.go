package partner

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ketenbus/ketenbus/events"
)

// HandlerFunc processes one event delivered by ketenbus. It returns nil when
// the event is processed (or deliberately ignored), or an error that says
// what ketenbus should do next: [Retry] or [RetryAfter] for a temporary
// failure, [Reject] for an event that will never be processed, [Gone] to
// end the subscription. Any other error counts as a temporary failure that
// ketenbus retries on its schedule.
//
// ketenbus delivers at least once: the same delivery can arrive again, with
// the same delivery id ([Delivery.ID]), after a timeout or a crash. Give the
// [Receiver] or [Consume] an idempotency [Store], or make the handler
// idempotent on the delivery id; not on the event id alone, which two
// sources may share.
//
// The data of a delivered event holds only the fields the partner's
// subscription allows, so required fields of the full schema may be absent.
// The context carries a [Delivery]; read it with [DeliveryFromContext].
type HandlerFunc func(ctx context.Context, e event.Event) error

// ExtensionSequence is the CloudEvents extension attribute that carries the
// event's sequence number in the ketenbus EVENTS stream, as a string of
// decimal digits. Within one stream it grows with every stored event, so a
// partner can order events and spot gaps per source; read it with
// [Sequence].
const ExtensionSequence = "sequence"

// HeaderEventSequence is the NATS header of a delivery message that holds
// the EVENTS stream sequence of the event.
const HeaderEventSequence = "Ketenbus-Event-Sequence"

// Headers ketenbus sets on every delivery, a webhook request and a NATS
// message alike.
const (
	// HeaderPartner names the partner the delivery is for.
	HeaderPartner = "Ketenbus-Partner"
	// HeaderSubscription names the partner's subscription the delivery is
	// for (see [Delivery.Subscription]).
	HeaderSubscription = "Ketenbus-Subscription"
	// HeaderDeliveryID is the delivery id of a NATS message (see
	// [Delivery.ID]); a webhook carries it as webhook-id.
	HeaderDeliveryID = "Ketenbus-Delivery-Id"
)

// HeaderTraceParent and HeaderTraceState are the W3C Trace Context headers.
const (
	HeaderTraceParent = "traceparent"
	HeaderTraceState  = "tracestate"
)

// Sequence returns the event's EVENTS stream sequence from the extension
// attribute [ExtensionSequence], and false when it is absent or not a
// non-negative integer.
func Sequence(e event.Event) (uint64, bool) {
	switch v := e.Extensions()[ExtensionSequence].(type) {
	case string:
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	case int32:
		return uint64(v), v >= 0
	}
	return 0, false
}

// Delivery describes how an event reached the handler. A [Receiver] and
// [Consume] put it in the handler's context; read it with
// [DeliveryFromContext].
type Delivery struct {
	// ID is the delivery id, the key to deduplicate on: webhook-id for a
	// webhook, the [HeaderDeliveryID] header for a NATS message. It is the
	// same on every retry, replay and retry from the dead letter queue of
	// one delivery, and differs for every other: ketenbus derives it from
	// the event's source and id, the partner and the subscription. It is
	// not the event id, which is unique per source only (two partners may
	// both send "x-1") and which the event itself keeps (e.ID()).
	ID string
	// Subscription is the name of the partner's subscription the event was
	// delivered for, from the [HeaderSubscription] header; "" when the
	// delivery does not name it. An event that matches two subscriptions of
	// one partner is delivered once for each, each with its own ID,
	// purpose and fields.
	Subscription string
	// Timestamp is when this attempt was made: webhook-timestamp for a
	// webhook, the time the message was stored in DELIVERY for NATS.
	Timestamp time.Time
	// Sequence is the EVENTS stream sequence (see [Sequence]), 0 if unknown.
	Sequence uint64
	// NumDelivered counts the delivery attempts of a NATS message, 1 the
	// first time. It is 0 for a webhook, which does not carry the count.
	NumDelivered uint64
	// TraceParent and TraceState are the W3C Trace Context of the
	// delivery, from the headers or else from the event's extensions.
	TraceParent string
	TraceState  string
	// Header holds the request headers of a webhook, without Authorization,
	// Cookie and webhook-signature, or the headers of a NATS message. The
	// handler may read it but not change it.
	Header http.Header
}

type deliveryKey struct{}

// DeliveryFromContext returns the Delivery a [Receiver] or [Consume] put in
// the handler's context, and false if there is none.
func DeliveryFromContext(ctx context.Context) (Delivery, bool) {
	d, ok := ctx.Value(deliveryKey{}).(Delivery)
	return d, ok
}

func withDelivery(ctx context.Context, d Delivery) context.Context {
	return context.WithValue(ctx, deliveryKey{}, d)
}

// traceFrom fills the trace fields of d from its headers or else from the
// event's distributed-tracing extensions.
func traceFrom(d *Delivery, e event.Event) {
	d.TraceParent = d.Header.Get(HeaderTraceParent)
	d.TraceState = d.Header.Get(HeaderTraceState)
	if d.TraceParent == "" {
		if s, ok := e.Extensions()[HeaderTraceParent].(string); ok {
			d.TraceParent = s
			d.TraceState, _ = e.Extensions()[HeaderTraceState].(string)
		}
	}
}

// dispatcher is what a Receiver and Consume share: deduplicate, call the
// handler, remember success.
type dispatcher struct {
	handler HandlerFunc
	store   Store
	logger  *slog.Logger
}

// dispatch runs the handler for e under the idempotency key id and says
// what became of it. err is the handler's or the store's error.
func (d *dispatcher) dispatch(ctx context.Context, id string, e event.Event) (outcome, time.Duration, error) {
	if d.store != nil {
		seen, err := d.store.Seen(ctx, id)
		if err != nil {
			return outcomeFailed, 0, fmt.Errorf("idempotency store: %w", err)
		}
		if seen {
			return outcomeDuplicate, 0, nil
		}
	}
	err := call(ctx, d.handler, e)
	out, after := classify(err)
	if out == outcomeDone && d.store != nil {
		if err := d.store.Mark(ctx, id); err != nil {
			// The event is processed; failing the delivery now would only
			// cause it to be processed again.
			d.logger.WarnContext(ctx, "idempotency store: mark failed", logID(id), slog.Any("error", err))
		}
	}
	return out, after, err
}

// call runs h, turning a panic into an error so that one bad event does not
// take the process down.
func call(ctx context.Context, h HandlerFunc, e event.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("partner: handler panicked: %v", p)
		}
	}()
	return h(ctx, e)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// logID is the log attribute of an event id. The publisher chose the id,
// so what looks like a BSN in it is replaced.
func logID(id string) slog.Attr { return slog.String("id", events.RedactBSNs(id)) }
