package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// traceRegion has one publisher and one webhook partner that receives
// signalen with the bsn field, so the delivered data holds the BSN that no
// span may hold.
var traceRegion = e2etest.MustRead("testdata/trace.yaml")

// traceFixture runs gateway, router and adapter with one span recorder and
// a zvh sink that keeps the traceparent header of every request.
type traceFixture struct {
	*fixture
	spans *tracetest.SpanRecorder

	mu      sync.Mutex
	headers map[string]string // event id -> traceparent header received
}

func newTraceFixture(t *testing.T) *traceFixture {
	t.Helper()
	tf := &traceFixture{
		fixture: newFixture(t, natstest.Start(t), "politie", "zvh"),
		spans:   tracetest.NewSpanRecorder(),
		headers: map[string]string{},
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tf.spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	zvh := tf.sink(t, "zvh", "", func(ctx context.Context, e cloudevents.Event) error {
		d, _ := partner.DeliveryFromContext(ctx)
		tf.mu.Lock()
		tf.headers[e.ID()] = d.Header.Get(telemetry.Traceparent)
		tf.mu.Unlock()
		return nil
	})
	tf.load(t, traceRegion, map[string]string{"zvh": zvh.url})

	tf.startGateway(t, func(c *gateway.Config) { c.TracerProvider = tp })
	tf.startRouter(t, func(c *router.Config) { c.TracerProvider = tp })
	tf.startAdapter(t, func(c *adapter.Config) { c.TracerProvider = tp })
	return tf
}

// postTraced posts one event in structured mode with the given request
// headers and fails the test unless the gateway accepted it.
func (tf *traceFixture) postTraced(t *testing.T, ev map[string]any, header http.Header) {
	t.Helper()
	status, answer, err := tf.postWith(tf.token("politie"), events.ContentTypeStructured, ev, header)
	if err != nil {
		t.Fatalf("post to the gateway: %v", err)
	}
	if status != http.StatusAccepted {
		t.Fatalf("gateway answered %d: %s", status, answer)
	}
}

// header returns the traceparent header the sink received with event id.
func (tf *traceFixture) header(id string) (string, bool) {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	h, ok := tf.headers[id]
	return h, ok
}

// chain waits for the sink to receive event id and for its spans to end,
// and returns them with the traceparent header the sink received: the
// gateway's server span of the request (the parent of ingest, or linked
// from it), ingest, route and deliver.
func (tf *traceFixture) chain(t *testing.T, id string) (request, ingest, route, deliver sdktrace.ReadOnlySpan, header string) {
	t.Helper()
	runtest.Eventually(t, 15*time.Second, "spans of "+id, func() bool {
		var ok bool
		if header, ok = tf.header(id); !ok {
			return false
		}
		request, ingest, route, deliver = nil, nil, nil, nil
		ended := tf.spans.Ended()
		for _, s := range ended {
			if attr(s, telemetry.AttrEventID) != id {
				continue
			}
			switch s.Name() {
			case telemetry.SpanIngest:
				ingest = s
			case telemetry.SpanRoute:
				route = s
			case telemetry.SpanDeliver:
				deliver = s
			}
		}
		if ingest == nil {
			return false
		}
		for _, s := range ended {
			if s.SpanKind() != trace.SpanKindServer {
				continue
			}
			if ingest.Parent().SpanID() == s.SpanContext().SpanID() {
				request = s
			}
			for _, l := range ingest.Links() {
				if l.SpanContext.SpanID() == s.SpanContext().SpanID() {
					request = s
				}
			}
		}
		return request != nil && route != nil && deliver != nil
	})
	return request, ingest, route, deliver, header
}

// attr returns the value of a span attribute as text, "" when absent.
func attr(s sdktrace.ReadOnlySpan, key attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}

// checkChain checks that ingest, route and deliver form one parent chain
// in one trace, and that the webhook's traceparent header names deliver;
// request is the gateway's server span of the POST.
func checkChain(t *testing.T, request, ingest, route, deliver sdktrace.ReadOnlySpan, header string) {
	t.Helper()
	if request.Name() != "POST /v1/events" || attr(request, telemetry.AttrHTTPStatus) != "202" {
		t.Errorf("the request's span is %q with status %q, want POST /v1/events with 202", request.Name(), attr(request, telemetry.AttrHTTPStatus))
	}
	tid := ingest.SpanContext().TraceID()
	for _, s := range []sdktrace.ReadOnlySpan{route, deliver} {
		if s.SpanContext().TraceID() != tid {
			t.Errorf("%s is in trace %s, %s in %s", s.Name(), s.SpanContext().TraceID(), ingest.Name(), tid)
		}
	}
	if route.Parent().SpanID() != ingest.SpanContext().SpanID() {
		t.Errorf("%s's parent is %s, want %s's %s", route.Name(), route.Parent().SpanID(), ingest.Name(), ingest.SpanContext().SpanID())
	}
	if deliver.Parent().SpanID() != route.SpanContext().SpanID() {
		t.Errorf("%s's parent is %s, want %s's %s", deliver.Name(), deliver.Parent().SpanID(), route.Name(), route.SpanContext().SpanID())
	}
	kinds := map[sdktrace.ReadOnlySpan]trace.SpanKind{
		request: trace.SpanKindServer, ingest: trace.SpanKindProducer, route: trace.SpanKindConsumer, deliver: trace.SpanKindClient,
	}
	for s, k := range kinds {
		if s.SpanKind() != k {
			t.Errorf("%s is a %s span, want %s", s.Name(), s.SpanKind(), k)
		}
	}
	sc := trace.SpanContextFromContext(telemetry.Extract(context.Background(), header, ""))
	if !sc.IsValid() {
		t.Fatalf("webhook traceparent header %q is not a valid W3C traceparent", header)
	}
	if sc.TraceID() != tid || sc.SpanID() != deliver.SpanContext().SpanID() {
		t.Errorf("webhook traceparent %q, want trace %s and parent %s (the %s span)", header, tid, deliver.SpanContext().SpanID(), deliver.Name())
	}
	for key, want := range map[attribute.Key]string{
		telemetry.AttrPartner:      "zvh",
		telemetry.AttrSubscription: "signalen",
		telemetry.AttrEventType:    events.TypeSignaal,
		telemetry.AttrAttempt:      "1",
		telemetry.AttrHTTPStatus:   "204",
		telemetry.AttrOutcome:      "delivered",
	} {
		if got := attr(deliver, key); got != want {
			t.Errorf("%s %s = %q, want %q", deliver.Name(), key, got, want)
		}
	}
}

// checkNoPersonalData fails when a span's name, attributes, events or
// status hold one of the secrets: a BSN, the pseudonym subject, a data
// field.
func checkNoPersonalData(t *testing.T, spans []sdktrace.ReadOnlySpan, secrets map[string]string) {
	t.Helper()
	if len(spans) == 0 {
		t.Fatal("no spans: the check is not looking")
	}
	for _, s := range spans {
		var text strings.Builder
		fmt.Fprintln(&text, s.Name(), s.Status().Description)
		for _, kv := range s.Attributes() {
			fmt.Fprintln(&text, kv.Key, kv.Value.String())
		}
		for _, e := range s.Events() {
			fmt.Fprintln(&text, e.Name)
			for _, kv := range e.Attributes {
				fmt.Fprintln(&text, kv.Key, kv.Value.String())
			}
		}
		for what, secret := range secrets {
			if strings.Contains(text.String(), secret) {
				t.Errorf("span %s holds the %s", s.Name(), what)
			}
		}
	}
}

// TestTraceReachesThePartner posts signalen with a trace context, once in
// the event's traceparent extension and once in the request's W3C
// traceparent header, and checks that each trace runs on through gateway,
// router and adapter to the partner: the webhook's traceparent header
// carries the posted trace id and names the adapter's span; the
// gateway.ingest, router.route and adapter.deliver spans share the trace
// and form a parent chain from the posted span: gateway.ingest is its
// child when the event carried it, else the child of the request's server
// span, which is the posted span's child. No span holds the BSN, the
// pseudonym or a data field.
func TestTraceReachesThePartner(t *testing.T) {
	t.Parallel()
	tf := newTraceFixture(t)
	bsns := bsntest.Seeded(4711, 2)
	const toelichting = "Buren horen al dagen geschreeuw"

	cases := []struct {
		id          string
		traceparent string
		inHeader    bool
	}{
		{"s-ext", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
		{"s-hdr", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", true},
	}
	for i, c := range cases {
		ev := e2etest.Event(c.id, sourcePolitie, events.TypeSignaal, map[string]any{
			"bsn": bsns[i], "categorie": "huiselijk-geweld", "urgentie": "hoog", "toelichting": toelichting,
			"contactpersoon": map[string]any{"naam": "Wijkagent Visser"},
		})
		header := http.Header{}
		if c.inHeader {
			header.Set("traceparent", c.traceparent)
		} else {
			ev["traceparent"] = c.traceparent
			ev["tracestate"] = "partner=politie"
		}
		tf.postTraced(t, ev, header)
	}
	for i, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			request, ingest, route, deliver, header := tf.chain(t, c.id)
			posted := trace.SpanContextFromContext(telemetry.Extract(context.Background(), c.traceparent, ""))
			if ingest.SpanContext().TraceID() != posted.TraceID() {
				t.Errorf("%s is in trace %s, want the posted %s", ingest.Name(), ingest.SpanContext().TraceID(), posted.TraceID())
			}
			child := ingest // of the posted span
			if c.inHeader {
				child = request
				if ingest.Parent().SpanID() != request.SpanContext().SpanID() {
					t.Errorf("%s's parent is %s, want the request's %s", ingest.Name(), ingest.Parent().SpanID(), request.SpanContext().SpanID())
				}
			}
			if p := child.Parent(); !p.IsRemote() || p.SpanID() != posted.SpanID() {
				t.Errorf("%s's parent is %s (remote %t), want the posted %s", child.Name(), p.SpanID(), p.IsRemote(), posted.SpanID())
			}
			checkChain(t, request, ingest, route, deliver, header)
			if !c.inHeader {
				if ts := deliver.SpanContext().TraceState().Get("partner"); ts != "politie" {
					t.Errorf("%s tracestate partner=%q, want the posted politie", deliver.Name(), ts)
				}
			}
			checkNoPersonalData(t, tf.spans.Ended(), map[string]string{
				"BSN": bsns[i], "pseudonym": tf.pseudonym(t, bsns[i]), "toelichting": toelichting,
			})
		})
	}
}

// TestTraceStartsWhenNoneIsPosted posts a signaal without trace context:
// the gateway starts a new trace with the request's server span, which
// still reaches the partner through router and adapter.
func TestTraceStartsWhenNoneIsPosted(t *testing.T) {
	t.Parallel()
	tf := newTraceFixture(t)
	bsn := bsntest.Seeded(815, 1)[0]
	tf.postTraced(t, e2etest.Event("s-new", sourcePolitie, events.TypeSignaal, map[string]any{
		"bsn": bsn, "categorie": "overlast", "urgentie": "laag",
		"contactpersoon": map[string]any{"naam": "Wijkagent Visser"},
	}), nil)
	request, ingest, route, deliver, header := tf.chain(t, "s-new")
	if request.Parent().IsValid() {
		t.Errorf("%s has parent %s, want the root of a new trace", request.Name(), request.Parent().SpanID())
	}
	if ingest.Parent().SpanID() != request.SpanContext().SpanID() {
		t.Errorf("%s's parent is %s, want the request's %s", ingest.Name(), ingest.Parent().SpanID(), request.SpanContext().SpanID())
	}
	checkChain(t, request, ingest, route, deliver, header)
	checkNoPersonalData(t, tf.spans.Ended(), map[string]string{"BSN": bsn, "pseudonym": tf.pseudonym(t, bsn)})
}
