package adapter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// shortSchedule is the retry schedule of the tests, set through the
// webhook config like any other.
var shortSchedule = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}

// testBSNs are fictitious BSNs that pass the elfproef.
var testBSNs = bsntest.Seeded(7, 2)

// fixture is a real nats-server with the ketenbus streams, a region whose
// partners are added by the test, and the adapter's log and metrics.
type fixture struct {
	env     *natstest.Env
	region  *region.Config
	secrets region.Secrets
	logs    *logtest.Buffer
	seq     atomic.Uint64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	_, logs := logtest.New()
	return &fixture{
		env:    natstest.Start(t),
		region: &region.Config{Region: "test"},
		secrets: region.Secrets{
			WebhookSecrets: map[string]string{},
			WebhookTokens:  map[string]string{},
		},
		logs: logs,
	}
}

// addPartner adds a webhook partner and returns its webhook secret. The
// hook's URL is usually a sink's.
func (f *fixture) addPartner(t *testing.T, id string, hook region.Webhook) string {
	t.Helper()
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	hook.SecretEnv = "KETENBUS_WEBHOOK_SECRET_" + strings.ToUpper(id)
	if hook.RetrySchedule == nil {
		hook.RetrySchedule = shortSchedule
	}
	if hook.Timeout == 0 {
		hook.Timeout = 2 * time.Second
	}
	f.region.Partners = append(f.region.Partners, region.Partner{
		ID:       id,
		Name:     "Partner " + id,
		Delivery: region.Delivery{Webhook: &hook},
	})
	f.secrets.WebhookSecrets[id] = secret
	return secret
}

// addSink adds a webhook partner whose webhook is a new sink answering
// with respond (see newSink), and returns the sink.
func (f *fixture) addSink(t *testing.T, id string, hook region.Webhook, respond func(w http.ResponseWriter, r *http.Request, n int)) *sink {
	t.Helper()
	s := newSink(t, f.addPartner(t, id, hook), respond)
	f.region.Partners[len(f.region.Partners)-1].Delivery.Webhook.URL = s.srv.URL
	return s
}

// statuses answers the n-th POST with codes[n-1], and every later one
// with the last code.
func statuses(codes ...int) func(w http.ResponseWriter, r *http.Request, n int) {
	return answers(nil, codes...)
}

// answers is statuses with a body: an answer of 300 or more carries
// body(r) as its text, when body is not nil.
func answers(body func(r *http.Request) string, codes ...int) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		code := codes[min(n, len(codes))-1]
		if body == nil || code < 300 {
			w.WriteHeader(code)
			return
		}
		http.Error(w, body(r), code)
	}
}

// run starts the adapter and returns its metrics registry and a stop
// function, also called when the test ends.
func (f *fixture) run(t *testing.T, mutate func(*adapter.Config)) (*prometheus.Registry, func()) {
	t.Helper()
	logger, logs := logtest.New()
	f.logs = logs
	reg := prometheus.NewRegistry()
	cfg := adapter.Config{
		Region:    f.region,
		Secrets:   f.secrets,
		JetStream: f.env.JS,
		Logger:    logger,
		Metrics:   reg,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := adapter.New(cfg)
	if err != nil {
		t.Fatalf("adapter.New: %v", err)
	}
	return reg, runtest.Start(t, "adapter", a.Run)
}

// published is a delivery message as the router stores it.
type published struct {
	id    string // CloudEvent id
	body  []byte
	msgID string // Nats-Msg-Id
	bsn   string
}

type eventOption func(*cloudevents.Event)

func withExtension(name string, v any) eventOption {
	return func(e *cloudevents.Event) { e.SetExtension(name, v) }
}

func withSubject(s string) eventOption {
	return func(e *cloudevents.Event) { e.SetSubject(s) }
}

// publish stores a delivery for partner's subscription on DELIVERY, the
// way the router does: a structured event with sequence set, the contract
// headers, a deterministic Nats-Msg-Id. Its data holds a BSN and a name,
// which must never show up in a log.
func (f *fixture) publish(t *testing.T, partner, subscription string, opts ...eventOption) published {
	t.Helper()
	return f.publishWith(t, partner, subscription, nil, opts...)
}

// publishWith is publish with further headers, such as the
// Ketenbus-Delivery-Id the router sets (publish stores a delivery as a
// router did before that header).
func (f *fixture) publishWith(t *testing.T, partner, subscription string, header map[string]string, opts ...eventOption) published {
	t.Helper()
	seq := f.seq.Add(1)
	e := cloudevents.NewEvent()
	e.SetID(uuid.NewString())
	e.SetSource("urn:nld:oin:00000001234567890000:systeem:test")
	e.SetType("nl.sociaaldomein.signaal.v1")
	e.SetTime(time.Now().UTC())
	e.SetExtension("sequence", int32(seq))
	for _, o := range opts {
		o(&e)
	}
	bsn := testBSNs[0]
	if err := e.SetData(cloudevents.ApplicationJSON, map[string]any{"bsn": bsn, "naam": "Jansen-Geheim", "reden": "schulden"}); err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	msgID := events.DeliveryID(partner, subscription, events.MsgID(e.Source(), e.ID()))
	m := nats.NewMsg(events.DeliverySubject(partner))
	m.Data = body
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	m.Header.Set(bus.HeaderPartner, partner)
	m.Header.Set(bus.HeaderSubscription, subscription)
	m.Header.Set(bus.HeaderPurpose, "urn:nld:test:verwerkingsactiviteit:"+subscription)
	m.Header.Set(bus.HeaderEventSequence, fmt.Sprint(seq))
	for k, v := range header {
		m.Header.Set(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := f.env.JS.PublishMsg(ctx, m); err != nil {
		t.Fatalf("publish delivery: %v", err)
	}
	return published{id: e.ID(), body: body, msgID: msgID, bsn: bsn}
}

// dlq returns the dead letters, waiting until there are at least n (or
// failing after within).
func (f *fixture) dlq(t *testing.T, n int, within time.Duration) []*jetstream.RawStreamMsg {
	t.Helper()
	var msgs []*jetstream.RawStreamMsg
	runtest.Eventually(t, within, fmt.Sprintf("%d dead letters", n), func() bool {
		msgs = f.env.Messages(t, events.StreamDLQ)
		return len(msgs) >= n
	})
	return msgs
}

// sinkRequest is one request a sink received.
type sinkRequest struct {
	method    string
	header    http.Header
	body      []byte
	at        time.Time
	verifyErr error
}

// sink is a partner's webhook endpoint: it verifies every POST's signature
// with the partner's secret, records it and answers with respond (204
// when nil). n counts the POSTs, this one included.
type sink struct {
	srv      *httptest.Server
	verifier *webhook.Verifier
	respond  func(w http.ResponseWriter, r *http.Request, n int)
	options  func(w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	reqs []sinkRequest
	n    int
}

func newSink(t *testing.T, secret string, respond func(w http.ResponseWriter, r *http.Request, n int)) *sink {
	t.Helper()
	v, err := webhook.NewVerifier([]string{secret})
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{verifier: v, respond: respond}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	req := sinkRequest{method: r.Method, header: r.Header.Clone(), body: body, at: time.Now()}
	if r.Method == http.MethodPost {
		req.verifyErr = s.verifier.Verify(r.Header, body)
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	if r.Method == http.MethodPost {
		s.n++
	}
	n := s.n
	s.mu.Unlock()
	switch {
	case r.Method == http.MethodOptions && s.options != nil:
		s.options(w, r)
	case r.Method == http.MethodOptions:
		w.WriteHeader(http.StatusMethodNotAllowed)
	case s.respond != nil:
		s.respond(w, r, n)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// sinkBody returns the body of a request the sink received.
func sinkBody(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body)
	return b
}

// requests returns the requests of method (every request for "")
// received so far.
func (s *sink) requests(method string) []sinkRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sinkRequest
	for _, r := range s.reqs {
		if method == "" || r.method == method {
			out = append(out, r)
		}
	}
	return out
}

// posts waits until the sink received at least n POSTs and returns them.
func (s *sink) posts(t *testing.T, n int, within time.Duration) []sinkRequest {
	t.Helper()
	runtest.Eventually(t, within, fmt.Sprintf("%d POSTs at the sink", n), func() bool { return len(s.requests(http.MethodPost)) >= n })
	return s.requests(http.MethodPost)
}

// outcome returns ketenbus_adapter_deliveries_total{partner,outcome}.
func outcome(t *testing.T, reg *prometheus.Registry, partner, outcome string) float64 {
	t.Helper()
	return metrictest.Value(t, reg, "ketenbus_adapter_deliveries_total", map[string]string{"partner": partner, "outcome": outcome})
}

// eventID returns the id of a structured CloudEvent body.
func eventID(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not a structured event: %v", err)
	}
	return e.ID
}
