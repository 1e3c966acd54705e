package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

const (
	posted      = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	postedState = "politie=1"
)

// storedTrace returns the traceparent and tracestate attributes of the
// events stored in EVENTS, in order ("" when absent).
func (f *fixture) storedTrace(t *testing.T) (traceparents, tracestates []string) {
	t.Helper()
	for _, m := range f.env.Messages(t, events.StreamEvents) {
		var attrs struct{ Traceparent, Tracestate string }
		if err := json.Unmarshal(m.Data, &attrs); err != nil {
			t.Fatal(err)
		}
		traceparents = append(traceparents, attrs.Traceparent)
		tracestates = append(tracestates, attrs.Tracestate)
	}
	return traceparents, tracestates
}

func withTrace(ev map[string]any, traceparent, tracestate string) map[string]any {
	ev["traceparent"] = traceparent
	if tracestate != "" {
		ev["tracestate"] = tracestate
	}
	return ev
}

// TestTraceContextPassesWithoutTracing: with the default (no-op) provider
// the gateway keeps a valid traceparent extension, takes the request's
// W3C header for an event without one, and drops an invalid one.
func TestTraceContextPassesWithoutTracing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		event     map[string]any
		header    []string
		wantTP    string
		wantState string
	}{
		{"extension kept", withTrace(signaal("e-1"), posted, postedState), nil, posted, postedState},
		{"extension before header", withTrace(signaal("e-1"), posted, ""),
			[]string{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, posted, ""},
		{"header taken", signaal("e-1"), []string{"traceparent", posted, "tracestate", postedState}, posted, postedState},
		{"invalid dropped", withTrace(signaal("e-1"), "00-xyz", postedState), nil, "", ""},
		{"invalid replaced by header", withTrace(signaal("e-1"), "00-xyz", ""), []string{"traceparent", posted}, posted, ""},
		{"none", signaal("e-1"), nil, "", ""},
		// tracestate is free text passed on to every subscriber: one that
		// holds a BSN is dropped, from the event or the header alike.
		{"tracestate with a BSN dropped", withTrace(signaal("e-1"), posted, "politie=999993653"), nil, posted, ""},
		{"header tracestate with a BSN dropped", signaal("e-1"), []string{"traceparent", posted, "tracestate", "politie=999993653"}, posted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := start(t)
			resp, body := f.post(t, events.ContentTypeStructured, tokenPolitie, tt.event, tt.header...)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			tps, tss := f.storedTrace(t)
			if len(tps) != 1 || tps[0] != tt.wantTP || tss[0] != tt.wantState {
				t.Errorf("stored traceparent %q tracestate %q, want %q %q", tps, tss, tt.wantTP, tt.wantState)
			}
		})
	}
}

// TestIngestSpans: with a TracerProvider every event of a request gets a
// gateway.ingest span, the child of its trace context or a new root, and
// is stored with that span's traceparent.
func TestIngestSpans(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f := start(t, func(c *gateway.Config) { c.TracerProvider = tp })

	batch := []map[string]any{withTrace(signaal("e-1"), posted, postedState), signaal("e-2")}
	resp, body := f.post(t, events.ContentTypeBatch, tokenPolitie, batch)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans ended, want one per event", len(spans))
	}
	tps, tss := f.storedTrace(t)
	postedSC := trace.SpanContextFromContext(telemetry.Extract(context.Background(), posted, ""))
	for i, s := range spans {
		if s.Name() != telemetry.SpanIngest || s.SpanKind() != trace.SpanKindServer {
			t.Errorf("span %d: %s %s", i, s.Name(), s.SpanKind())
		}
		stored := trace.SpanContextFromContext(telemetry.Extract(context.Background(), tps[i], ""))
		if stored.SpanID() != s.SpanContext().SpanID() || stored.TraceID() != s.SpanContext().TraceID() {
			t.Errorf("event %d stored with traceparent %q, want the span's %s", i, tps[i], s.SpanContext().SpanID())
		}
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.String()
			if kv.Value.String() == pseudonymOf(testBSN) || kv.Value.String() == testBSN {
				t.Errorf("span %d attribute %s holds the pseudonym or BSN", i, kv.Key)
			}
		}
		if attrs["ketenbus.partner"] != "politie" || attrs["cloudevents.event_type"] != events.TypeSignaal || attrs["ketenbus.outcome"] != "stored" {
			t.Errorf("span %d attributes %v", i, attrs)
		}
	}
	if spans[0].SpanContext().TraceID() != postedSC.TraceID() || spans[0].Parent().SpanID() != postedSC.SpanID() {
		t.Errorf("first span in trace %s with parent %s, want the posted %s", spans[0].SpanContext().TraceID(), spans[0].Parent().SpanID(), posted)
	}
	if tss[0] != postedState {
		t.Errorf("first event stored with tracestate %q, want the posted %q", tss[0], postedState)
	}
	if spans[1].Parent().IsValid() || spans[1].SpanContext().TraceID() == postedSC.TraceID() {
		t.Errorf("second span has parent %s in trace %s, want a new root", spans[1].Parent().SpanID(), spans[1].SpanContext().TraceID())
	}
}
