package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

const (
	parent    = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traceID   = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentID  = "00f067aa0ba902b7"
	tracestat = "ketenbus=a1,partner=b2"
)

// clearEnv empties every variable Setup reads, so the machine's own
// settings do not leak into a test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{
		"OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_TRACES_SAMPLER",
	} {
		t.Setenv(name, "")
	}
}

// keepGlobal restores the global TracerProvider after the test.
func keepGlobal(t *testing.T) {
	t.Helper()
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
}

func TestSetupWithoutEndpointChangesNothing(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no endpoint":  {},
		"sdk disabled": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
	} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			keepGlobal(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			before := otel.GetTracerProvider()
			shutdown, err := telemetry.Setup(context.Background(), "test")
			if err != nil {
				t.Fatal(err)
			}
			if otel.GetTracerProvider() != before {
				t.Error("Setup replaced the global TracerProvider")
			}
			if err := shutdown(context.Background()); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
}

// otlpSink is an OTLP/HTTP collector that counts the export requests.
type otlpSink struct {
	mu    sync.Mutex
	paths []string
	types []string
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.paths = append(s.paths, r.URL.Path)
	s.types = append(s.types, r.Header.Get("Content-Type"))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func TestSetupExportsOverOTLPHTTP(t *testing.T) {
	for _, endpointVar := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		t.Run(endpointVar, func(t *testing.T) {
			clearEnv(t)
			keepGlobal(t)
			sink := &otlpSink{}
			srv := httptest.NewServer(sink)
			t.Cleanup(srv.Close)
			endpoint := srv.URL
			if endpointVar == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" {
				endpoint += "/v1/traces" // the signal's variable is the whole URL
			}
			t.Setenv(endpointVar, endpoint)

			shutdown, err := telemetry.Setup(context.Background(), "test")
			if err != nil {
				t.Fatal(err)
			}
			tp := otel.GetTracerProvider()
			if _, ok := tp.(*sdktrace.TracerProvider); !ok || !telemetry.Active(tp) {
				t.Fatalf("global TracerProvider is %T (active %t), want the SDK's", tp, telemetry.Active(tp))
			}
			_, span := telemetry.Tracer(tp, "telemetry").Start(context.Background(), "test.span")
			span.End()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if len(sink.paths) == 0 || sink.paths[0] != "/v1/traces" || sink.types[0] != "application/x-protobuf" {
				t.Errorf("collector got %v %v, want a protobuf export to /v1/traces", sink.paths, sink.types)
			}
		})
	}
}

func TestSetupProtocol(t *testing.T) {
	tests := []struct {
		name, protocolVar, protocol string
		wantErr                     error
	}{
		{"grpc", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", nil},
		{"grpc for traces", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc", nil},
		{"http/json", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", telemetry.ErrProtocol},
		{"unknown", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "carrier-pigeon", telemetry.ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			keepGlobal(t)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
			t.Setenv(tt.protocolVar, tt.protocol)
			before := otel.GetTracerProvider()
			shutdown, err := telemetry.Setup(context.Background(), "test")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Setup: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if otel.GetTracerProvider() != before {
					t.Error("a failed Setup replaced the global TracerProvider")
				}
				return
			}
			if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); !ok {
				t.Errorf("global TracerProvider is %T, want the SDK's", otel.GetTracerProvider())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
}

func TestActive(t *testing.T) {
	sdk := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
	tests := []struct {
		name string
		tp   trace.TracerProvider
		want bool
	}{
		{"nil", nil, false},
		{"noop", noop.NewTracerProvider(), false},
		{"noop pointer", &noop.TracerProvider{}, false},
		{"sdk", sdk, true},
	}
	for _, tt := range tests {
		if got := telemetry.Active(tt.tp); got != tt.want {
			t.Errorf("%s: Active = %t, want %t", tt.name, got, tt.want)
		}
		if got := telemetry.Tracer(tt.tp, "x") != nil; got != tt.want {
			t.Errorf("%s: Tracer is not nil: %t, want %t", tt.name, got, tt.want)
		}
	}
}

func TestExtractInject(t *testing.T) {
	tests := []struct {
		name, traceparent, tracestate string
		valid                         bool
		wantState                     string
	}{
		{"valid", parent, tracestat, true, tracestat},
		{"no tracestate", parent, "", true, ""},
		{"invalid tracestate dropped", parent, "not a=valid=state", true, ""},
		{"empty", "", tracestat, false, ""},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "", false, ""},
		{"garbage", "hello", "", false, ""},
		{"short", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902-01", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := telemetry.Extract(context.Background(), tt.traceparent, tt.tracestate)
			sc := trace.SpanContextFromContext(ctx)
			if sc.IsValid() != tt.valid {
				t.Fatalf("valid = %t, want %t", sc.IsValid(), tt.valid)
			}
			c := telemetry.Inject(ctx)
			if !tt.valid {
				if c != (telemetry.Carrier{}) {
					t.Errorf("Inject = %+v, want nothing", c)
				}
				return
			}
			if !sc.IsRemote() || sc.TraceID().String() != traceID || sc.SpanID().String() != parentID {
				t.Errorf("span context %v", sc)
			}
			if c.Traceparent != tt.traceparent || c.Tracestate != tt.wantState {
				t.Errorf("Inject = %+v, want %s and %q", c, tt.traceparent, tt.wantState)
			}
		})
	}
}

// child returns a context holding a recorded span that is the child of
// parent, and the span.
func child(t *testing.T) (context.Context, trace.Span) {
	t.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx := telemetry.Extract(context.Background(), parent, tracestat)
	return tp.Tracer("test").Start(ctx, "child")
}

func TestExtensions(t *testing.T) {
	e := cloudevents.NewEvent()
	e.SetExtension(telemetry.Traceparent, parent)
	e.SetExtension(telemetry.Tracestate, tracestat)
	got := trace.SpanContextFromContext(telemetry.ContextFromExtensions(context.Background(), e.Extensions()))
	if got.TraceID().String() != traceID || got.SpanID().String() != parentID || got.TraceState().String() != tracestat {
		t.Fatalf("ContextFromExtensions = %v", got)
	}

	ctx, span := child(t)
	defer span.End()
	telemetry.SetExtensions(ctx, &e)
	want := "00-" + traceID + "-" + span.SpanContext().SpanID().String() + "-01"
	if tp := e.Extensions()[telemetry.Traceparent]; tp != want {
		t.Errorf("traceparent extension %v, want %s", tp, want)
	}
	if ts := e.Extensions()[telemetry.Tracestate]; ts != tracestat {
		t.Errorf("tracestate extension %v, want %s (the parent's)", ts, tracestat)
	}

	// A root span without tracestate removes a stale one; no span changes
	// nothing.
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	rctx, root := tp.Tracer("test").Start(context.Background(), "root")
	defer root.End()
	telemetry.SetExtensions(rctx, &e)
	if _, ok := e.Extensions()[telemetry.Tracestate]; ok {
		t.Error("tracestate extension kept with a span that has none")
	}
	before := e.Extensions()[telemetry.Traceparent]
	telemetry.SetExtensions(context.Background(), &e)
	if e.Extensions()[telemetry.Traceparent] != before {
		t.Error("SetExtensions without a span changed traceparent")
	}

	bad := map[string]any{telemetry.Traceparent: 42}
	if trace.SpanContextFromContext(telemetry.ContextFromExtensions(context.Background(), bad)).IsValid() {
		t.Error("a traceparent that is not a string gave a span context")
	}
}

func TestNATSHeader(t *testing.T) {
	ctx, span := child(t)
	defer span.End()
	h := nats.Header{}
	telemetry.SetNATSHeader(h, telemetry.Inject(ctx))
	if len(h[telemetry.Traceparent]) != 1 || len(h[telemetry.Tracestate]) != 1 {
		t.Fatalf("header %v, want one traceparent and one tracestate", h)
	}
	got := trace.SpanContextFromContext(telemetry.Extract(context.Background(), h.Get(telemetry.Traceparent), h.Get(telemetry.Tracestate)))
	if got.SpanID() != span.SpanContext().SpanID() || got.TraceID() != span.SpanContext().TraceID() || got.TraceState().String() != tracestat {
		t.Errorf("read back %v, want %v", got, span.SpanContext())
	}

	empty := nats.Header{}
	telemetry.SetNATSHeader(empty, telemetry.Carrier{})
	if len(empty) != 0 {
		t.Errorf("SetNATSHeader without a trace context set %v", empty)
	}
	if trace.SpanContextFromContext(telemetry.Extract(context.Background(), empty.Get(telemetry.Traceparent), empty.Get(telemetry.Tracestate))).IsValid() {
		t.Error("an empty header gave a span context")
	}
}

func TestHTTPHeader(t *testing.T) {
	ctx, span := child(t)
	defer span.End()
	h := http.Header{}
	telemetry.SetHTTPHeader(ctx, h)
	want := "00-" + traceID + "-" + span.SpanContext().SpanID().String() + "-01"
	if h.Get("Traceparent") != want || h.Get("Tracestate") != tracestat {
		t.Fatalf("header %v, want traceparent %s and tracestate %s", h, want, tracestat)
	}
	got := trace.SpanContextFromContext(telemetry.ContextFromHTTPHeader(context.Background(), h))
	if got.SpanID() != span.SpanContext().SpanID() || !got.IsRemote() {
		t.Errorf("read back %v", got)
	}
	h = http.Header{}
	telemetry.SetHTTPHeader(context.Background(), h)
	if len(h) != 0 {
		t.Errorf("SetHTTPHeader without a span set %v", h)
	}
}

func TestCarrier(t *testing.T) {
	var c telemetry.Carrier
	c.Set(telemetry.Traceparent, parent)
	c.Set(telemetry.Tracestate, tracestat)
	c.Set("baggage", "x=1")
	if c.Get(telemetry.Traceparent) != parent || c.Get(telemetry.Tracestate) != tracestat || c.Get("baggage") != "" {
		t.Errorf("carrier %+v", c)
	}
	if keys := c.Keys(); len(keys) != 2 {
		t.Errorf("Keys = %v", keys)
	}
}

// TestEventIDHoldsNoBSN: an event id is the partner's free text; one
// holding a BSN reaches the trace backend without it.
func TestEventIDHoldsNoBSN(t *testing.T) {
	t.Parallel()
	bsn := bsntest.Seeded(7, 1)[0]
	if got := telemetry.EventID("dossier-" + bsn).Value.AsString(); strings.Contains(got, bsn) {
		t.Fatalf("event id attribute %q holds the BSN", got)
	}
	if got := telemetry.EventID("overdracht-2026-0042").Value.AsString(); got != "overdracht-2026-0042" {
		t.Fatalf("event id attribute %q, want the id as it is", got)
	}
}

// kvs returns attributes as text by key.
func kvs(attrs []attribute.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range attrs {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

// TestHTTPAttributes: the HTTP spans carry the semantic conventions'
// attributes; url.full shows neither user information nor a query value,
// and a method outside the conventions' list is _OTHER.
func TestHTTPAttributes(t *testing.T) {
	t.Parallel()
	tlsReq := httptest.NewRequest(http.MethodPost, "https://gateway.example:8443/v1/events?x=1", nil)
	for name, tc := range map[string]struct {
		got  []attribute.KeyValue
		want map[string]string
	}{
		"server": {
			telemetry.HTTPServer(httptest.NewRequest(http.MethodPost, "http://gateway.example/v1/events?token=geheim", nil), "/v1/events"),
			map[string]string{
				"http.request.method": "POST", "http.route": "/v1/events", "url.path": "/v1/events",
				"url.scheme": "http", "server.address": "gateway.example", "server.port": "80",
			},
		},
		"server over TLS": {
			telemetry.HTTPServer(tlsReq, "/v1/events"),
			map[string]string{"url.scheme": "https", "server.address": "gateway.example", "server.port": "8443"},
		},
		"server, unknown method": {
			telemetry.HTTPServer(httptest.NewRequest("BREW", "http://gateway.example/v1/events", nil), "/v1/events"),
			map[string]string{"http.request.method": "_OTHER"},
		},
		"client": {
			telemetry.HTTPClient(http.MethodPost, mustURL(t, "https://user:pw@hooks.example/zvh/in?token=geheim#frag")),
			map[string]string{
				"http.request.method": "POST", "url.full": "https://xxxxx@hooks.example/zvh/in?token=redacted",
				"server.address": "hooks.example", "server.port": "443",
			},
		},
		"client with a port": {
			telemetry.HTTPClient(http.MethodPost, mustURL(t, "http://127.0.0.1:8081/hook")),
			map[string]string{"url.full": "http://127.0.0.1:8081/hook", "server.address": "127.0.0.1", "server.port": "8081"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := kvs(tc.got)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			for k, v := range got {
				if strings.Contains(v, "geheim") || strings.Contains(v, "pw") {
					t.Errorf("%s = %q holds a secret", k, v)
				}
			}
		})
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestMessagingAttributes: producer and consumer spans carry the
// messaging semantic conventions' attributes of NATS.
func TestMessagingAttributes(t *testing.T) {
	t.Parallel()
	const subject = "ketenbus.events.signaal.v1.politie"
	pub := kvs(telemetry.Publish(subject))
	proc := kvs(telemetry.Process(subject, "router"))
	for name, tc := range map[string]struct{ got, want map[string]string }{
		"publish": {pub, map[string]string{
			"messaging.system": "nats", "messaging.operation.type": "send", "messaging.operation.name": "publish",
			"messaging.destination.name": subject,
		}},
		"process": {proc, map[string]string{
			"messaging.system": "nats", "messaging.operation.type": "process", "messaging.operation.name": "process",
			"messaging.destination.name": subject, "messaging.consumer.group.name": "router",
		}},
	} {
		if len(tc.got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", name, tc.got, tc.want)
		}
		for k, v := range tc.want {
			if tc.got[k] != v {
				t.Errorf("%s: %s = %q, want %q", name, k, tc.got[k], v)
			}
		}
	}
}

// TestFail: a failed HTTP span has error.type its status code and the
// Error status; one that did not fail has neither. ErrorType names an
// error by its type, never its text.
func TestFail(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("test")
	_, failed := tracer.Start(context.Background(), "failed")
	telemetry.HTTPStatus(failed, 503, true, "unavailable")
	failed.End()
	_, fine := tracer.Start(context.Background(), "fine")
	telemetry.HTTPStatus(fine, 404, false, "not found")
	fine.End()
	spans := rec.Ended()
	if got := kvs(spans[0].Attributes()); got["error.type"] != "503" || got["http.response.status_code"] != "503" ||
		spans[0].Status().Code != codes.Error || spans[0].Status().Description != "unavailable" {
		t.Errorf("failed span: %v, status %v", got, spans[0].Status())
	}
	if got := kvs(spans[1].Attributes()); got["error.type"] != "" || got["http.response.status_code"] != "404" || spans[1].Status().Code != codes.Unset {
		t.Errorf("span that did not fail: %v, status %v", got, spans[1].Status())
	}
	if got := telemetry.ErrorType(fmt.Errorf("publish: %w", context.DeadlineExceeded)); got != "context.deadlineExceededError" {
		t.Errorf("ErrorType = %q, want the type of the wrapped error", got)
	}
	if telemetry.ErrorOther != "_OTHER" {
		t.Errorf("ErrorOther = %q", telemetry.ErrorOther)
	}
}
