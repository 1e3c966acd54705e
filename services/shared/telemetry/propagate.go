package telemetry

import (
	"context"
	"net/http"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/ketenbus/ketenbus/events"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Names of the W3C Trace Context values: the CloudEvents distributed
// tracing extension attributes, the NATS headers of DELIVERY messages and
// the HTTP headers all use the same two.
const (
	Traceparent = "traceparent"
	Tracestate  = "tracestate"
)

// traceContext is the W3C Trace Context propagator; the extension
// attributes are W3C by definition, whatever the global propagator is.
var traceContext propagation.TraceContext

// NoSpan is the span of work that is not traced: every method does
// nothing, IsRecording is false. The services hand it out instead of nil,
// so the code around a span needs no checks.
var NoSpan trace.Span = noop.Span{}

// Carrier holds a W3C trace context as its two values. It is a
// propagation.TextMapCarrier that allocates nothing.
type Carrier struct {
	Traceparent, Tracestate string
}

var _ propagation.TextMapCarrier = (*Carrier)(nil)

// Get returns the value of key (traceparent or tracestate).
func (c *Carrier) Get(key string) string {
	switch key {
	case Traceparent:
		return c.Traceparent
	case Tracestate:
		return c.Tracestate
	}
	return ""
}

// Set sets the value of key (traceparent or tracestate); other keys are
// ignored.
func (c *Carrier) Set(key, value string) {
	switch key {
	case Traceparent:
		c.Traceparent = value
	case Tracestate:
		c.Tracestate = value
	}
}

// Keys returns traceparent and tracestate.
func (c *Carrier) Keys() []string { return []string{Traceparent, Tracestate} }

// Extract returns ctx with the remote span context of traceparent and
// tracestate as the parent of the next span; ctx itself when traceparent
// is not a valid W3C traceparent. An invalid tracestate is dropped, and
// so is one that is not SafeTracestate.
func Extract(ctx context.Context, traceparent, tracestate string) context.Context {
	if traceparent == "" {
		return ctx
	}
	if !SafeTracestate(tracestate) {
		tracestate = ""
	}
	return traceContext.Extract(ctx, &Carrier{Traceparent: traceparent, Tracestate: tracestate})
}

// SafeTracestate reports whether a tracestate, free text a partner sends
// and ketenbus passes on to every subscriber and to the trace backend,
// holds nothing that looks like a BSN.
func SafeTracestate(tracestate string) bool {
	return events.RedactBSNs(tracestate) == tracestate
}

// Inject returns the traceparent and tracestate of the span context in
// ctx; both empty when ctx holds no valid one.
func Inject(ctx context.Context) Carrier {
	var c Carrier
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return c
	}
	traceContext.Inject(ctx, &c)
	return c
}

// ContextFromExtensions returns ctx with the span context of a
// CloudEvent's traceparent and tracestate extension attributes as the
// remote parent; ctx itself when the event has no valid traceparent.
func ContextFromExtensions(ctx context.Context, ext map[string]any) context.Context {
	tp, _ := ext[Traceparent].(string)
	ts, _ := ext[Tracestate].(string)
	return Extract(ctx, tp, ts)
}

// SetExtensions sets the traceparent and tracestate extension attributes
// of e to the span context of ctx, removing tracestate when it is empty.
// It changes nothing when ctx holds no valid span context.
func SetExtensions(ctx context.Context, e *cloudevents.Event) {
	c := Inject(ctx)
	if c.Traceparent == "" {
		return
	}
	e.SetExtension(Traceparent, c.Traceparent)
	if c.Tracestate != "" {
		e.SetExtension(Tracestate, c.Tracestate)
	} else {
		e.SetExtension(Tracestate, nil)
	}
}

// SetNATSHeader sets the traceparent and tracestate headers of a NATS
// message to c; tracestate only when it is not empty.
func SetNATSHeader(h nats.Header, c Carrier) {
	if c.Traceparent == "" {
		return
	}
	h[Traceparent] = []string{c.Traceparent}
	if c.Tracestate != "" {
		h[Tracestate] = []string{c.Tracestate}
	}
}

// ContextFromHTTPHeader returns ctx with the span context of the W3C
// traceparent and tracestate headers of an HTTP request as the remote
// parent; ctx itself when h has no valid traceparent.
func ContextFromHTTPHeader(ctx context.Context, h http.Header) context.Context {
	return Extract(ctx, h.Get(Traceparent), strings.Join(h.Values(Tracestate), ","))
}

// SetHTTPHeader sets the W3C traceparent and tracestate headers of an
// HTTP request to the span context of ctx; it changes nothing when ctx
// holds no valid span context.
func SetHTTPHeader(ctx context.Context, h http.Header) {
	traceContext.Inject(ctx, propagation.HeaderCarrier(h))
}
