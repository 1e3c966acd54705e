package dashboard_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/monitor/monitortest"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// Source URNs of the partners that post events in the tests.
const (
	sourcePolitie  = "urn:nld:oin:00000009999999990001:systeem:bvh"
	sourceWijkteam = "urn:nld:oin:00000009999999990003:systeem:wijkteam"
)

// testRegion is the monitor's own test region: "{ggz}" and "{zvh}" stand
// for the sinks' URLs, the retry schedule is short.
var testRegion = func() string {
	b, err := os.ReadFile("../../../services/monitor/testdata/region.yaml")
	if err != nil {
		panic("read the monitor's test region: " + err.Error())
	}
	return string(b)
}()

// partners are the ids of testRegion.
var partners = []string{"politie", "wijkteam", "ggz", "zvh"}

// stack is a region under test: nats-server, redis-server, the gateway on
// a real HTTP server, router, adapter, escalator and samenloop, the
// partners' sinks, and the monitor on a real HTTP server.
type stack struct {
	env     *natstest.Env
	vars    map[string]string
	region  *region.Config
	secrets region.Secrets
	logs    *logtest.Buffer
	gateway string
	ggz     *sink
	zvh     *sink
	// url is the monitor's base URL.
	url string
}

// options change how the stack's monitor starts.
type options struct {
	auth monitor.Auth
}

// newStack starts every part; all stop when the test ends.
func newStack(t *testing.T, opts options) *stack {
	t.Helper()
	logger, logs := logtest.New()
	s := &stack{env: natstest.Start(t), logs: logs, vars: map[string]string{
		"KETENBUS_PSEUDONYM_KEY": base64.StdEncoding.EncodeToString(randomBytes(region.KeySize)),
		"KETENBUS_FIELD_KEY":     base64.StdEncoding.EncodeToString(randomBytes(region.KeySize)),
	}}
	for _, id := range partners {
		secret, err := webhook.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		s.vars["KETENBUS_TOKEN_"+strings.ToUpper(id)] = "tok-" + id + "-" + base64.RawURLEncoding.EncodeToString(randomBytes(12))
		s.vars["KETENBUS_WEBHOOK_SECRET_"+strings.ToUpper(id)] = secret
	}
	s.ggz, s.zvh = newSink(t), newSink(t)
	text := strings.NewReplacer("{ggz}", s.ggz.url, "{zvh}", s.zvh.url).Replace(testRegion)
	reg, err := region.Parse("region.yaml", []byte(text))
	if err != nil {
		t.Fatalf("region config: %v", err)
	}
	secrets, generated, err := reg.ResolveSecrets(func(name string) string { return s.vars[name] })
	if err != nil || len(generated) > 0 {
		t.Fatalf("region secrets: %v (generated %v)", err, generated)
	}
	s.region, s.secrets = reg, secrets
	rdb := redistest.Start(t).Client(t)
	metrics := prometheus.NewRegistry()
	log := func(service string) *slog.Logger { return logger.With(slog.String("service", service)) }

	g, err := gateway.New(gateway.Config{Region: reg, Secrets: secrets, JetStream: s.connect(t), Logger: log("gateway"), Metrics: metrics})
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	t.Cleanup(g.Close)
	gsrv := httptest.NewServer(g)
	t.Cleanup(gsrv.Close)
	s.gateway = gsrv.URL + "/v1/events"

	rt, err := router.New(router.Config{Region: reg, JetStream: s.connect(t), Logger: log("router"), Metrics: metrics})
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	runtest.Start(t, "router", rt.Run)
	ad, err := adapter.New(adapter.Config{Region: reg, Secrets: secrets, JetStream: s.connect(t), Logger: log("adapter"), Metrics: metrics,
		Breaker: adapter.BreakerConfig{Failures: 3, Cooldown: 200 * time.Millisecond}})
	if err != nil {
		t.Fatalf("adapter.New: %v", err)
	}
	runtest.Start(t, "adapter", ad.Run)
	esc, err := escalator.New(escalator.Config{Region: reg, JetStream: s.connect(t), Redis: rdb, Logger: log("escalator"), Metrics: metrics})
	if err != nil {
		t.Fatalf("escalator.New: %v", err)
	}
	runtest.Start(t, "escalator", esc.Run)
	sl, err := samenloop.New(samenloop.Config{Region: reg, JetStream: s.connect(t), Redis: rdb, Logger: log("samenloop"), Metrics: metrics})
	if err != nil {
		t.Fatalf("samenloop.New: %v", err)
	}
	runtest.Start(t, "samenloop", sl.Run)

	s.url = monitortest.Serve(t, monitor.Config{Region: reg, JetStream: s.connect(t), Redis: rdb,
		Logger: log("monitor"), Metrics: metrics, Auth: opts.auth})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("what the services logged:\n%s", logs.String())
		}
	})
	return s
}

// connect opens a NATS connection of its own for one service.
func (s *stack) connect(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(s.env.URL)
	if err != nil {
		t.Fatalf("connect to nats-server: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// post sends one event to the gateway as partner and fails the test
// unless it is accepted.
func (s *stack) post(t *testing.T, partner string, ev map[string]any) {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.gateway, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", events.ContentTypeStructured)
	req.Header.Set("Authorization", "Bearer "+s.vars["KETENBUS_TOKEN_"+strings.ToUpper(partner)])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post to the gateway: %v", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("gateway answered %d: %s", resp.StatusCode, answer)
	}
}

func event(id, source, typ string, data map[string]any) map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": typ,
		"time": time.Now().UTC().Format(time.RFC3339), "datacontenttype": "application/json",
		"data": data,
	}
}

func signaal(id, source, bsn, toelichting string) map[string]any {
	return event(id, source, events.TypeSignaal, map[string]any{
		"bsn": bsn, "categorie": "verward-gedrag", "urgentie": "hoog",
		"toelichting":    toelichting,
		"contactpersoon": map[string]any{"naam": "Wijkagent De Vries", "telefoon": "050-1234567"},
	})
}

func aanmelding(id, bsn, reden string) map[string]any {
	return event(id, sourcePolitie, events.TypeAanmelding, map[string]any{
		"bsn": bsn, "ontvanger": "ggz", "reden": reden,
		"contactpersoon": map[string]any{"naam": "Wijkagent De Vries"},
		"reactietermijn": map[string]any{"werkdagen": 5},
	})
}

// sink is a partner's webhook endpoint that answers with its status (204
// unless set) and, when failing, echoes the request body: the worst a
// partner could answer, which the monitor must never show.
type sink struct {
	url      string
	status   atomic.Int32
	mu       sync.Mutex
	received int
}

func newSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	s.status.Store(http.StatusNoContent)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.received++
		s.mu.Unlock()
		status := int(s.status.Load())
		w.WriteHeader(status)
		if status >= 300 {
			_, _ = w.Write(body)
		}
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/hook"
	return s
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// get fetches path from the monitor with header h and returns the status
// and the body.
func (s *stack) get(t *testing.T, path string, h http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
