package gateway

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

// traceEvents gives every event the traceparent (and tracestate)
// extension it travels with. An event's own valid traceparent is kept as
// the parent; an invalid one is dropped with its tracestate; an event
// without one takes the request's W3C traceparent header, when valid.
// When tracing, each event gets a "gateway.ingest" span, begun at start,
// as the child of that parent (or the root of a new trace), and its
// extensions name that span. The spans end through eventSpans.
func (g *Gateway) traceEvents(r *http.Request, partnerID string, parsed []*events.Parsed, start time.Time) eventSpans {
	var (
		fromHeader context.Context // the request's trace context, read once
		spans      eventSpans
	)
	if g.tracer != nil {
		spans = make(eventSpans, 0, len(parsed))
	}
	for _, pe := range parsed {
		e := &pe.Event
		ext := e.Extensions()
		if ts, ok := ext[telemetry.Tracestate].(string); ok && !telemetry.SafeTracestate(ts) {
			e.SetExtension(telemetry.Tracestate, nil)
			delete(ext, telemetry.Tracestate)
		}
		ctx := r.Context()
		if tp, ok := ext[telemetry.Traceparent]; ok {
			ctx = telemetry.ContextFromExtensions(ctx, ext)
			if !trace.SpanContextFromContext(ctx).IsValid() {
				e.SetExtension(telemetry.Traceparent, nil)
				e.SetExtension(telemetry.Tracestate, nil)
				tp = nil
			}
			if tp != nil && g.tracer == nil {
				continue // kept as it came
			}
		} else if _, ok := ext[telemetry.Tracestate]; ok {
			e.SetExtension(telemetry.Tracestate, nil) // no tracestate without traceparent
		}
		if !trace.SpanContextFromContext(ctx).IsValid() {
			if fromHeader == nil {
				fromHeader = telemetry.ContextFromHTTPHeader(r.Context(), r.Header)
			}
			ctx = fromHeader
		}
		if g.tracer == nil {
			telemetry.SetExtensions(ctx, e)
			continue
		}
		ctx, span := g.tracer.Start(ctx, telemetry.SpanIngest,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithTimestamp(start),
			trace.WithAttributes(
				telemetry.EventID(e.ID()),
				telemetry.AttrEventType.String(e.Type()),
				telemetry.AttrEventSource.String(e.Source()),
				telemetry.AttrPartner.String(partnerID),
			))
		telemetry.SetExtensions(ctx, e)
		spans = append(spans, span)
	}
	return spans
}

// eventSpans are the "gateway.ingest" spans of a request's events, in
// order; nil when not tracing.
type eventSpans []trace.Span

// refused ends the spans of a refused request: the outcome is the
// problem's reason; a 5xx is an error, a 4xx the partner's to fix.
func (s eventSpans) refused(p *Problem) {
	for _, span := range s {
		span.SetAttributes(telemetry.AttrOutcome.String(p.reason), telemetry.AttrHTTPStatus.Int(p.Status))
		if p.Status >= 500 {
			span.SetStatus(codes.Error, p.reason)
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
		span.SetAttributes(telemetry.AttrOutcome.String(outcome), telemetry.AttrHTTPStatus.Int(http.StatusAccepted))
		span.End()
	}
}
