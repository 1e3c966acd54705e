package gateway

import (
	"context"
	"net/http"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

// routeEvents is the route of the events endpoint, the http.route of its
// server spans.
const routeEvents = "/v1/events"

// startRequest starts, when tracing, the server span of a request to
// /v1/events begun at start ("POST /v1/events"), the child of the
// request's W3C traceparent header or the root of a new trace, and
// returns r with that span in its context. It returns r and
// telemetry.NoSpan when not tracing.
func (g *Gateway) startRequest(r *http.Request, start time.Time) (*http.Request, trace.Span) {
	if g.tracer == nil {
		return r, telemetry.NoSpan
	}
	ctx, span := g.tracer.Start(telemetry.ContextFromHTTPHeader(r.Context(), r.Header),
		telemetry.HTTPServerSpanName(r.Method, routeEvents),
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(start),
		trace.WithAttributes(telemetry.HTTPServer(r, routeEvents)...))
	return r.WithContext(ctx), span
}

// endRequest ends the server span of a request from partnerID ("" when
// unknown) answered with status; a refused one names the problem's
// reason as its outcome, and a 5xx is an error.
func endRequest(span trace.Span, partnerID string, status int, p *Problem) {
	if !span.IsRecording() {
		return
	}
	if partnerID != "" {
		span.SetAttributes(telemetry.AttrPartner.String(partnerID))
	}
	description := ""
	if p != nil {
		span.SetAttributes(telemetry.AttrOutcome.String(p.reason))
		description = p.reason
	}
	telemetry.HTTPStatus(span, status, status >= 500, description)
	span.End()
}

// traceEvents gives every event the traceparent (and tracestate)
// extension it travels with. An event's own valid traceparent is kept as
// the parent; an invalid one is dropped with its tracestate; an event
// without one takes the request's trace context. When tracing, each event
// gets a "gateway.ingest" producer span, begun at start: the child of the
// request's server span (in r's context), or of the event's own trace
// context, linked to the server span, so the trace the partner began goes
// on; its extensions name that span. Not tracing, an event without a
// traceparent takes the request's W3C traceparent header, when valid.
// The spans end through eventSpans.
func (g *Gateway) traceEvents(r *http.Request, partnerID string, parsed []*events.Parsed, start time.Time) eventSpans {
	var (
		fromHeader context.Context // not tracing: the request's trace context, read once
		spans      eventSpans
	)
	if g.tracer != nil {
		spans = make(eventSpans, 0, len(parsed))
	}
	for _, pe := range parsed {
		e := &pe.Event
		own, ok := ownTraceContext(r.Context(), e)
		if g.tracer == nil {
			if ok {
				continue // kept as it came
			}
			if fromHeader == nil {
				fromHeader = telemetry.ContextFromHTTPHeader(r.Context(), r.Header)
			}
			telemetry.SetExtensions(fromHeader, e)
			continue
		}
		parent := r.Context()
		opts := []trace.SpanStartOption{
			trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithTimestamp(start),
			trace.WithAttributes(telemetry.Publish(events.EventSubject(e.Type(), partnerID))...),
			trace.WithAttributes(
				telemetry.EventID(e.ID()),
				telemetry.AttrEventType.String(e.Type()),
				telemetry.AttrEventSource.String(e.Source()),
				telemetry.AttrPartner.String(partnerID),
			),
		}
		if ok {
			parent = own
			opts = append(opts, trace.WithLinks(trace.LinkFromContext(r.Context())))
		}
		ctx, span := g.tracer.Start(parent, telemetry.SpanIngest, opts...)
		telemetry.SetExtensions(ctx, e)
		spans = append(spans, span)
	}
	return spans
}

// ownTraceContext returns ctx with the trace context of e's own
// traceparent and tracestate extensions as the remote parent, and true,
// when e has a valid traceparent. It cleans e's extensions first: a
// tracestate that is not telemetry.SafeTracestate is dropped, and so are
// an invalid traceparent with its tracestate and a tracestate without a
// traceparent.
func ownTraceContext(ctx context.Context, e *cloudevents.Event) (context.Context, bool) {
	ext := e.Extensions()
	if ts, ok := ext[telemetry.Tracestate].(string); ok && !telemetry.SafeTracestate(ts) {
		e.SetExtension(telemetry.Tracestate, nil)
		delete(ext, telemetry.Tracestate)
	}
	if _, ok := ext[telemetry.Traceparent]; !ok {
		if _, ok := ext[telemetry.Tracestate]; ok {
			e.SetExtension(telemetry.Tracestate, nil) // no tracestate without traceparent
		}
		return ctx, false
	}
	own := telemetry.ContextFromExtensions(ctx, ext)
	if sc := trace.SpanContextFromContext(own); !sc.IsValid() || !sc.IsRemote() {
		e.SetExtension(telemetry.Traceparent, nil)
		e.SetExtension(telemetry.Tracestate, nil)
		return ctx, false
	}
	return own, true
}

// eventSpans are the "gateway.ingest" spans of a request's events, in
// order; nil when not tracing.
type eventSpans []trace.Span

// refused ends the spans of a refused request: the outcome is the
// problem's reason; a 5xx is an error (its error.type the reason), a 4xx
// the partner's to fix.
func (s eventSpans) refused(p *Problem) {
	for _, span := range s {
		span.SetAttributes(telemetry.AttrOutcome.String(p.reason))
		if p.Status >= 500 {
			telemetry.Fail(span, p.reason, p.reason)
		}
		span.End()
	}
}

// stored ends the spans of stored events with their acks.
func (s eventSpans) stored(acks []Ack) {
	for i, span := range s {
		outcome := "stored"
		if i < len(acks) {
			if acks[i].Duplicate {
				outcome = "duplicate"
			}
			span.SetAttributes(telemetry.AttrSequence.Int64(int64(acks[i].Sequence)))
		}
		span.SetAttributes(telemetry.AttrOutcome.String(outcome))
		span.End()
	}
}
