package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/codes"
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

// tracedGateway starts a gateway with a TracerProvider whose spans rec
// records.
func tracedGateway(t *testing.T) (*fixture, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return start(t, func(c *gateway.Config) { c.TracerProvider = tp }), rec
}

// attrs returns the attributes of s as text, failing the test when one
// holds the pseudonym or the BSN.
func attrs(t *testing.T, s sdktrace.ReadOnlySpan) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kv := range s.Attributes() {
		out[string(kv.Key)] = kv.Value.String()
		if kv.Value.String() == pseudonymOf(testBSN) || kv.Value.String() == testBSN {
			t.Errorf("span %s attribute %s holds the pseudonym or BSN", s.Name(), kv.Key)
		}
	}
	return out
}

// wantAttrs fails unless got holds every attribute of want, and none of
// absent.
func wantAttrs(t *testing.T, name string, got, want map[string]string, absent ...string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s %s = %q, want %q (all: %v)", name, k, got[k], v, got)
		}
	}
	for _, k := range absent {
		if _, ok := got[k]; ok {
			t.Errorf("%s has %s = %q, want none", name, k, got[k])
		}
	}
}

// byKind splits spans into the one server span and the producer spans,
// in order.
func byKind(t *testing.T, spans []sdktrace.ReadOnlySpan) (server sdktrace.ReadOnlySpan, producers []sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, s := range spans {
		switch s.SpanKind() {
		case trace.SpanKindServer:
			if server != nil {
				t.Fatalf("two server spans: %s and %s", server.Name(), s.Name())
			}
			server = s
		case trace.SpanKindProducer:
			producers = append(producers, s)
		default:
			t.Errorf("span %s is a %s span", s.Name(), s.SpanKind())
		}
	}
	if server == nil {
		t.Fatal("no server span")
	}
	return server, producers
}

// TestIngestSpans: with a TracerProvider a request gets one server span,
// "POST /v1/events" with the HTTP semantic conventions' attributes, and
// every event of it a gateway.ingest producer span with the messaging
// ones: the child of the server span, or of the event's own trace context
// (linked to the server span). Each event is stored with its span's
// traceparent.
func TestIngestSpans(t *testing.T) {
	t.Parallel()
	f, rec := tracedGateway(t)

	header := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	batch := []map[string]any{withTrace(signaal("e-1"), posted, postedState), signaal("e-2")}
	resp, body := f.post(t, events.ContentTypeBatch, tokenPolitie, batch, "traceparent", header)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	server, producers := byKind(t, rec.Ended())
	if len(producers) != 2 {
		t.Fatalf("%d producer spans, want one per event", len(producers))
	}

	headerSC := trace.SpanContextFromContext(telemetry.Extract(context.Background(), header, ""))
	if server.Name() != "POST /v1/events" || server.Parent().SpanID() != headerSC.SpanID() || server.SpanContext().TraceID() != headerSC.TraceID() {
		t.Errorf("server span %q with parent %s in trace %s, want POST /v1/events the child of the header's %s",
			server.Name(), server.Parent().SpanID(), server.SpanContext().TraceID(), header)
	}
	wantAttrs(t, server.Name(), attrs(t, server), map[string]string{
		"http.request.method":       "POST",
		"http.route":                "/v1/events",
		"url.path":                  "/v1/events",
		"url.scheme":                "http",
		"server.address":            "127.0.0.1",
		"http.response.status_code": "202",
		"ketenbus.partner":          "politie",
	}, "error.type")
	if _, ok := attrs(t, server)["server.port"]; !ok {
		t.Errorf("server span without server.port: %v", attrs(t, server))
	}

	tps, tss := f.storedTrace(t)
	for i, s := range producers {
		if s.Name() != telemetry.SpanIngest {
			t.Errorf("producer span %d is named %s, want %s", i, s.Name(), telemetry.SpanIngest)
		}
		stored := trace.SpanContextFromContext(telemetry.Extract(context.Background(), tps[i], ""))
		if stored.SpanID() != s.SpanContext().SpanID() || stored.TraceID() != s.SpanContext().TraceID() {
			t.Errorf("event %d stored with traceparent %q, want the span's %s", i, tps[i], s.SpanContext().SpanID())
		}
		wantAttrs(t, s.Name(), attrs(t, s), map[string]string{
			"messaging.system":           "nats",
			"messaging.operation.type":   "send",
			"messaging.destination.name": "ketenbus.events.signaal.v1.politie",
			"cloudevents.event_type":     events.TypeSignaal,
			"cloudevents.event_source":   sourcePolitie,
			"ketenbus.partner":           "politie",
			"ketenbus.outcome":           "stored",
		}, "error.type")
	}

	// The first event's own trace goes on, linked to the request.
	postedSC := trace.SpanContextFromContext(telemetry.Extract(context.Background(), posted, ""))
	first := producers[0]
	if first.SpanContext().TraceID() != postedSC.TraceID() || first.Parent().SpanID() != postedSC.SpanID() {
		t.Errorf("first span in trace %s with parent %s, want the posted %s", first.SpanContext().TraceID(), first.Parent().SpanID(), posted)
	}
	if links := first.Links(); len(links) != 1 || links[0].SpanContext.SpanID() != server.SpanContext().SpanID() {
		t.Errorf("first span links %v, want the server span %s", links, server.SpanContext().SpanID())
	}
	if tss[0] != postedState {
		t.Errorf("first event stored with tracestate %q, want the posted %q", tss[0], postedState)
	}
	// The second, without one, is the server span's child.
	second := producers[1]
	if second.Parent().SpanID() != server.SpanContext().SpanID() || second.SpanContext().TraceID() != server.SpanContext().TraceID() {
		t.Errorf("second span has parent %s in trace %s, want the server span %s", second.Parent().SpanID(), second.SpanContext().TraceID(), server.SpanContext().SpanID())
	}
	if len(second.Links()) != 0 {
		t.Errorf("second span links %v, want none", second.Links())
	}
}

// TestRequestSpans: every request to /v1/events, refused or not, has one
// server span with its status, the root of a new trace without a
// traceparent header; a 5xx is an error with error.type its status code,
// and so are the producer spans of its events (error.type the reason).
func TestRequestSpans(t *testing.T) {
	t.Parallel()
	t.Run("stored, no traceparent", func(t *testing.T) {
		t.Parallel()
		f, rec := tracedGateway(t)
		if resp, body := f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("e-1")); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		server, producers := byKind(t, rec.Ended())
		if server.Parent().IsValid() {
			t.Errorf("server span has parent %s, want the root of a new trace", server.Parent().SpanID())
		}
		if len(producers) != 1 || producers[0].Parent().SpanID() != server.SpanContext().SpanID() {
			t.Fatalf("producer spans %v, want one, the server span's child", producers)
		}
	})
	t.Run("unauthenticated", func(t *testing.T) {
		t.Parallel()
		f, rec := tracedGateway(t)
		if resp, _ := f.post(t, events.ContentTypeStructured, "wrong", signaal("e-1")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", resp.StatusCode)
		}
		server, producers := byKind(t, rec.Ended())
		if len(producers) != 0 {
			t.Errorf("%d producer spans for a refused request", len(producers))
		}
		wantAttrs(t, server.Name(), attrs(t, server), map[string]string{
			"http.response.status_code": "401",
			"ketenbus.outcome":          "unauthenticated",
		}, "error.type", "ketenbus.partner")
		if server.Status().Code == codes.Error {
			t.Errorf("a 401 is an error on the server span: %v", server.Status())
		}
	})
	t.Run("store unavailable", func(t *testing.T) {
		t.Parallel()
		f, rec := tracedGateway(t)
		if err := f.env.JS.DeleteStream(context.Background(), events.StreamEvents); err != nil {
			t.Fatal(err)
		}
		if resp, _ := f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("e-1")); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", resp.StatusCode)
		}
		server, producers := byKind(t, rec.Ended())
		wantAttrs(t, server.Name(), attrs(t, server), map[string]string{
			"http.response.status_code": "503",
			"error.type":                "503",
			"ketenbus.partner":          "politie",
		})
		if server.Status().Code != codes.Error {
			t.Errorf("server span status %v, want an error", server.Status())
		}
		if len(producers) != 1 {
			t.Fatalf("%d producer spans, want 1", len(producers))
		}
		wantAttrs(t, producers[0].Name(), attrs(t, producers[0]), map[string]string{
			"error.type":       "unavailable",
			"ketenbus.outcome": "unavailable",
		})
		if producers[0].Status().Code != codes.Error {
			t.Errorf("producer span status %v, want an error", producers[0].Status())
		}
	})
}
