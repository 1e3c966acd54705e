package router_test

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

const eventTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// TestRouteSpanTravelsWithDeliveries: with a TracerProvider the router
// gives an event a router.route span, the child of its traceparent, and
// every delivery carries that span's context in its traceparent and
// tracestate headers, while the delivered body keeps the event's own.
// Without one, deliveries get no trace headers.
func TestRouteSpanTravelsWithDeliveries(t *testing.T) {
	t.Parallel()
	for _, tracing := range []bool{true, false} {
		name := map[bool]string{true: "tracing", false: "not tracing"}[tracing]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := natstest.Start(t)
			reg := loadRegion(t, "testdata/region.yaml")
			rec := tracetest.NewSpanRecorder()
			cfg := router.Config{Region: reg, JetStream: env.JS}
			cfg.Logger, _ = logtest.New()
			if tracing {
				tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
				t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
				cfg.TracerProvider = tp
			}
			runtest.Start(t, "router", func(ctx context.Context) error { return router.Run(ctx, cfg) })
			env.StoreEvent(t, "politie", map[string]any{
				"specversion": "1.0", "id": "s-1", "source": sourcePolitie, "type": events.TypeSignaal,
				"subject": pseudonym, "time": "2026-11-24T09:30:00Z", "datacontenttype": "application/json",
				"traceparent": eventTraceparent, "tracestate": "politie=1", "data": signaal(),
			})
			waitDeliveries(t, env, 2)
			msgs := env.Messages(t, events.StreamDelivery)
			if !tracing {
				for _, m := range msgs {
					if m.Header.Get(telemetry.Traceparent) != "" {
						t.Errorf("delivery has a traceparent header without tracing")
					}
				}
				return
			}
			var spans []sdktrace.ReadOnlySpan
			deadline := time.Now().Add(5 * time.Second)
			for len(spans) == 0 && time.Now().Before(deadline) {
				spans = rec.Ended()
				time.Sleep(10 * time.Millisecond)
			}
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			s := spans[0]
			parent := trace.SpanContextFromContext(telemetry.Extract(context.Background(), eventTraceparent, ""))
			if s.Name() != telemetry.SpanRoute || s.SpanKind() != trace.SpanKindConsumer ||
				s.Parent().SpanID() != parent.SpanID() || s.SpanContext().TraceID() != parent.TraceID() {
				t.Errorf("span %s (%s) parent %s trace %s, want %s the child of %s", s.Name(), s.SpanKind(), s.Parent().SpanID(), s.SpanContext().TraceID(), telemetry.SpanRoute, eventTraceparent)
			}
			attrs := map[string]string{}
			for _, kv := range s.Attributes() {
				attrs[string(kv.Key)] = kv.Value.String()
				if kv.Value.String() == pseudonym || kv.Value.String() == "111222333" {
					t.Errorf("span attribute %s holds the pseudonym or BSN", kv.Key)
				}
			}
			for k, want := range map[string]string{
				"messaging.system":              "nats",
				"messaging.operation.type":      "process",
				"messaging.destination.name":    "ketenbus.events.signaal.v1.politie",
				"messaging.consumer.group.name": "router",
				"cloudevents.event_id":          "s-1",
				"cloudevents.event_type":        events.TypeSignaal,
				"ketenbus.deliveries":           "2",
			} {
				if attrs[k] != want {
					t.Errorf("span %s = %q, want %q (all: %v)", k, attrs[k], want, attrs)
				}
			}
			for _, m := range msgs {
				got := trace.SpanContextFromContext(telemetry.Extract(context.Background(), m.Header.Get(telemetry.Traceparent), m.Header.Get(telemetry.Tracestate)))
				if got.SpanID() != s.SpanContext().SpanID() || got.TraceID() != parent.TraceID() || got.TraceState().Get("politie") != "1" {
					t.Errorf("delivery for %s has traceparent %q tracestate %q, want the span's %s", m.Subject,
						m.Header.Get(telemetry.Traceparent), m.Header.Get(telemetry.Tracestate), s.SpanContext().SpanID())
				}
			}
			ds := waitDeliveries(t, env, 2)
			for _, d := range ds {
				if d.event["traceparent"] != eventTraceparent {
					t.Errorf("delivered body traceparent %v, want the event's own", d.event["traceparent"])
				}
			}
		})
	}
}
