package adapter_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// TestDeliverSpanPerAttempt: with a TracerProvider every attempt gets an
// adapter.deliver client span, the child of the event's traceparent when
// the delivery has no traceparent header, and the request carries that
// span's W3C traceparent and tracestate. The spans name partner,
// subscription, event, attempt, status and outcome, and the request by
// the HTTP semantic conventions (url.full without its query values);
// never the subject or a data field.
func TestDeliverSpanPerAttempt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.addSink(t, "alpha", region.Webhook{}, statuses(http.StatusServiceUnavailable, http.StatusNoContent))
	// A query the partner may consider secret: url.full never shows it.
	hook := f.region.Partners[len(f.region.Partners)-1].Delivery.Webhook
	hook.URL = s.srv.URL + "/hook?token=geheim-123"
	host, port, _ := strings.Cut(strings.TrimPrefix(s.srv.URL, "http://"), ":")
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f.run(t, func(c *adapter.Config) { c.TracerProvider = tp })

	const subject = "9c1d0e9f8a7b6c5d5f0c6e2d9a0b4c1d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b"
	p := f.publish(t, "alpha", "signalen", withSubject(subject),
		withExtension("traceparent", traceparent), withExtension("tracestate", "politie=1"))
	posts := s.posts(t, 2, 5*time.Second)
	var spans []sdktrace.ReadOnlySpan
	runtest.Eventually(t, 5*time.Second, "two spans", func() bool { spans = rec.Ended(); return len(spans) == 2 })

	parent := trace.SpanContextFromContext(telemetry.Extract(context.Background(), traceparent, ""))
	wants := []struct {
		status, outcome, errorType string
		code                       codes.Code
	}{{"503", "retry", "503", codes.Error}, {"204", "delivered", "", codes.Unset}}
	for i, sp := range spans {
		if sp.Name() != telemetry.SpanDeliver || sp.SpanKind() != trace.SpanKindClient {
			t.Errorf("span %d: %s %s", i, sp.Name(), sp.SpanKind())
		}
		if sp.Parent().SpanID() != parent.SpanID() || sp.SpanContext().TraceID() != parent.TraceID() {
			t.Errorf("span %d: parent %s, want the event's %s", i, sp.Parent().SpanID(), parent.SpanID())
		}
		got := trace.SpanContextFromContext(telemetry.ContextFromHTTPHeader(context.Background(), posts[i].header))
		if got.SpanID() != sp.SpanContext().SpanID() || got.TraceID() != parent.TraceID() || posts[i].header.Get("tracestate") != "politie=1" {
			t.Errorf("request %d: traceparent %q tracestate %q, want span %s's", i,
				posts[i].header.Get("traceparent"), posts[i].header.Get("tracestate"), sp.SpanContext().SpanID())
		}
		attrs := map[string]string{}
		for _, kv := range sp.Attributes() {
			v := kv.Value.String()
			attrs[string(kv.Key)] = v
			if strings.Contains(v, "geheim") {
				t.Errorf("span %d attribute %s holds the webhook URL's query", i, kv.Key)
			}
			if strings.Contains(v, subject) || strings.Contains(v, p.bsn) || strings.Contains(v, "Jansen-Geheim") {
				t.Errorf("span %d attribute %s holds the subject or a data field", i, kv.Key)
			}
		}
		want := map[string]string{
			"ketenbus.partner": "alpha", "ketenbus.subscription": "signalen", "cloudevents.event_id": p.id,
			"ketenbus.attempt": []string{"1", "2"}[i], "http.response.status_code": wants[i].status,
			"ketenbus.outcome": wants[i].outcome, "error.type": wants[i].errorType,
			"http.request.method": "POST", "url.full": s.srv.URL + "/hook?token=redacted",
			"server.address": host, "server.port": port,
		}
		for k, v := range want {
			if attrs[k] != v {
				t.Errorf("span %d: %s = %q, want %q", i, k, attrs[k], v)
			}
		}
		if sp.Status().Code != wants[i].code {
			t.Errorf("span %d: status %v, want %v", i, sp.Status().Code, wants[i].code)
		}
	}
}
