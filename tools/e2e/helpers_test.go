package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// Source URNs of the partners that post events in the tests.
const (
	sourcePolitie  = e2etest.SourcePolitie
	sourceWijkteam = e2etest.SourceWijkteam
	sourceGGZ      = e2etest.SourceGGZ
)

// fixture is one region under test: a nats-server with the ketenbus
// streams, the environment variables holding the region's secrets, and one
// log that every service started through the fixture writes to.
type fixture struct {
	env    *natstest.Env
	vars   map[string]string
	logs   *logtest.Buffer
	logger *slog.Logger

	// Set by load.
	region  *region.Config
	secrets region.Secrets
	// Set by startGateway.
	gateway string
	client  *http.Client
}

// newFixture generates the secrets of a region with the given partner ids
// (e2etest.Vars).
func newFixture(tb testing.TB, env *natstest.Env, partners ...string) *fixture {
	tb.Helper()
	logger, logs := logtest.New()
	f := &fixture{env: env, logs: logs, logger: logger, vars: e2etest.Vars(tb, partners...)}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("warnings and errors the services logged:\n%s", e2etest.Problems(f.logs.String()))
		}
	})
	return f
}

// token is the partner's bearer token for the gateway.
func (f *fixture) token(id string) string { return f.vars[e2etest.TokenEnv(id)] }

// hookToken is the bearer token ketenbus sends to the partner's webhook
// when the region names it.
func (f *fixture) hookToken(id string) string { return f.vars[e2etest.HookTokenEnv(id)] }

// load parses the region config text, after replacing every "{name}" with
// urls[name], and resolves its secrets from the fixture's environment.
func (f *fixture) load(tb testing.TB, text string, urls map[string]string) {
	tb.Helper()
	f.region, f.secrets = e2etest.Load(tb, text, urls, f.vars)
}

// pseudonym is the subject the gateway gives events about bsn.
func (f *fixture) pseudonym(tb testing.TB, bsn string) string {
	tb.Helper()
	return e2etest.Pseudonym(tb, f.secrets, bsn)
}

// connect opens a NATS connection of its own for one service, as each
// service has in production.
func (f *fixture) connect(tb testing.TB) jetstream.JetStream {
	tb.Helper()
	return e2etest.Connect(tb, f.env.URL)
}

// log is the logger of one service.
func (f *fixture) log(service string) *slog.Logger {
	return f.logger.With(slog.String("service", service))
}

// startGateway serves the gateway on a real HTTP server; mutate, when not
// nil, changes its config first.
func (f *fixture) startGateway(tb testing.TB, mutate func(*gateway.Config)) {
	tb.Helper()
	f.gateway = e2etest.ServeGateway(tb, gateway.Config{Region: f.region, Secrets: f.secrets, JetStream: f.connect(tb),
		Logger: f.log("gateway"), Metrics: prometheus.NewRegistry()}, mutate)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	f.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	tb.Cleanup(tr.CloseIdleConnections)
}

// startRouter runs a router instance (mutate, when not nil, changes its
// config first); stop ends it, as does the end of the test.
func (f *fixture) startRouter(tb testing.TB, mutate func(*router.Config)) (stop func()) {
	tb.Helper()
	_, stop = e2etest.Start(tb, "router", router.New, router.Config{Region: f.region, JetStream: f.connect(tb), Logger: f.log("router")}, mutate)
	return stop
}

// startAdapter runs an adapter instance (mutate, when not nil, changes
// its config first); stop ends it, as does the end of the test.
func (f *fixture) startAdapter(tb testing.TB, mutate func(*adapter.Config)) (stop func()) {
	tb.Helper()
	_, stop = e2etest.Start(tb, "adapter", adapter.New, adapter.Config{Region: f.region, Secrets: f.secrets, JetStream: f.connect(tb),
		Logger: f.log("adapter")}, mutate)
	return stop
}

// post sends body (JSON-encoded unless it is []byte) to the gateway with
// the bearer token and returns the status and the answer.
func (f *fixture) post(token, contentType string, body any) (int, []byte, error) {
	return f.postWith(token, contentType, body, nil)
}

// postWith is post with the request headers header added.
func (f *fixture) postWith(token, contentType string, body any, header http.Header) (int, []byte, error) {
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	return e2etest.Send(f.client, f.gateway, token, contentType, b, header)
}

// accepted is the gateway's answer for one stored event.
type accepted struct {
	ID        string `json:"id"`
	Sequence  uint64 `json:"sequence"`
	Duplicate bool   `json:"duplicate"`
}

// postEvents posts one event (structured mode) or several (batched mode)
// and fails the test unless the gateway accepted them; it returns the
// EVENTS sequence of each by id.
func (f *fixture) postEvents(tb testing.TB, partnerID string, evs ...map[string]any) map[string]uint64 {
	tb.Helper()
	var body any = evs
	contentType := events.ContentTypeBatch
	if len(evs) == 1 {
		body, contentType = evs[0], events.ContentTypeStructured
	}
	status, answer, err := f.post(f.token(partnerID), contentType, body)
	if err != nil {
		tb.Fatalf("post to the gateway: %v", err)
	}
	if status != http.StatusAccepted {
		tb.Fatalf("gateway answered %d: %s", status, answer)
	}
	var as []accepted
	if len(evs) == 1 {
		as = make([]accepted, 1)
		err = json.Unmarshal(answer, &as[0])
	} else {
		err = json.Unmarshal(answer, &as)
	}
	if err != nil || len(as) != len(evs) {
		tb.Fatalf("gateway answer %s: %v", answer, err)
	}
	seqs := map[string]uint64{}
	for _, a := range as {
		if a.Duplicate || a.Sequence == 0 {
			tb.Fatalf("gateway answer %+v: want a newly stored event", a)
		}
		seqs[a.ID] = a.Sequence
	}
	return seqs
}

// sink is a partner's webhook endpoint: the partner SDK's Receiver with the
// partner's webhook secret (and bearer token, when given) in a real HTTP
// server. It counts every POST by the status the Receiver answered, and
// how many of them reached the handler.
type sink struct {
	url string

	mu       sync.Mutex
	statuses map[int]int
	handled  int
	posts    []post
}

// post is one POST a sink received: its webhook-id and the status the
// Receiver answered.
type post struct {
	webhookID string
	status    int
}

// sink starts partner id's webhook endpoint; h receives every event whose
// request passed the Receiver's checks (token, signature, timestamp,
// CloudEvent).
func (f *fixture) sink(tb testing.TB, id, token string, h partner.HandlerFunc) *sink {
	tb.Helper()
	return f.sinkWith(tb, id, partner.ReceiverConfig{Token: token}, h)
}

// sinkWith is sink with a Receiver of cfg, such as one with an idempotency
// store; the fixture sets its secret and handler.
func (f *fixture) sinkWith(tb testing.TB, id string, cfg partner.ReceiverConfig, h partner.HandlerFunc) *sink {
	tb.Helper()
	s := &sink{statuses: map[int]int{}}
	cfg.Secrets = []string{f.vars[e2etest.SecretEnv(id)]}
	cfg.Handler = func(ctx context.Context, e cloudevents.Event) error {
		s.mu.Lock()
		s.handled++
		s.mu.Unlock()
		return h(ctx, e)
	}
	rc, err := partner.NewReceiver(cfg)
	if err != nil {
		tb.Fatalf("partner.NewReceiver: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		rc.ServeHTTP(sw, r)
		if r.Method == http.MethodPost {
			s.mu.Lock()
			s.statuses[sw.code()]++
			s.posts = append(s.posts, post{webhookID: r.Header.Get(webhook.HeaderID), status: sw.code()})
			s.mu.Unlock()
		}
	}))
	tb.Cleanup(srv.Close)
	s.url = srv.URL + "/ketenbus/" + id
	return s
}

// counts returns the POSTs by answered status, how many there were, and
// how many of them reached the handler.
func (s *sink) counts() (statuses map[int]int, posts, handled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.statuses), len(s.posts), s.handled
}

// received returns the POSTs received so far.
func (s *sink) received() []post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// consumer names a JetStream consumer.
type consumer struct{ stream, name string }

// settle waits until none of the consumers has a message left to deliver
// or unacknowledged, twice in a row: every service has finished its work
// and every handler it called has returned.
func (f *fixture) settle(tb testing.TB, within time.Duration, consumers ...consumer) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	quiet := 0
	var last string
	for quiet < 2 {
		busy := ""
		for _, c := range consumers {
			cons, err := f.env.JS.Consumer(ctx, c.stream, c.name)
			if err != nil {
				busy = fmt.Sprintf("consumer %s/%s: %v", c.stream, c.name, err)
				break
			}
			info, err := cons.Info(ctx)
			if err != nil {
				busy = fmt.Sprintf("consumer %s/%s: %v", c.stream, c.name, err)
				break
			}
			if info.NumPending > 0 || info.NumAckPending > 0 {
				busy = fmt.Sprintf("consumer %s/%s: %d pending, %d unacknowledged", c.stream, c.name, info.NumPending, info.NumAckPending)
				break
			}
		}
		if busy == "" {
			quiet++
		} else {
			quiet, last = 0, busy
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("not settled within %s: %s", within, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
