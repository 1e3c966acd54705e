package dashboard_test

import (
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/monitor/monitortest"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// Source URNs of the partners that post events in the tests.
const (
	sourcePolitie  = e2etest.SourcePolitie
	sourceWijkteam = e2etest.SourceWijkteam
)

// testRegion is the monitor's own test region: "{ggz}" and "{zvh}" stand
// for the sinks' URLs, the retry schedule is short.
var testRegion = e2etest.MustRead("../../../services/monitor/testdata/region.yaml")

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
	ggz     *e2etest.Hook
	zvh     *e2etest.Hook
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
	s := &stack{env: natstest.Start(t), logs: logs, vars: e2etest.Vars(t, partners...)}
	s.ggz, s.zvh = e2etest.ServeHook(t, "/hook"), e2etest.ServeHook(t, "/hook")
	reg, secrets := e2etest.Load(t, testRegion, map[string]string{"ggz": s.ggz.URL, "zvh": s.zvh.URL}, s.vars)
	s.region, s.secrets = reg, secrets
	rdb := redistest.Start(t).Client(t)
	metrics := prometheus.NewRegistry()
	log := func(service string) *slog.Logger { return logger.With(slog.String("service", service)) }
	connect := func() jetstream.JetStream { return e2etest.Connect(t, s.env.URL) }

	s.gateway = e2etest.ServeGateway(t, gateway.Config{Region: reg, Secrets: secrets, JetStream: connect(), Logger: log("gateway"), Metrics: metrics})
	e2etest.Start(t, "router", router.New, router.Config{Region: reg, JetStream: connect(), Logger: log("router"), Metrics: metrics})
	e2etest.Start(t, "adapter", adapter.New, adapter.Config{Region: reg, Secrets: secrets, JetStream: connect(), Logger: log("adapter"), Metrics: metrics,
		Breaker: adapter.BreakerConfig{Failures: 3, Cooldown: 200 * time.Millisecond}})
	e2etest.Start(t, "escalator", escalator.New, escalator.Config{ServiceConfig: projector.ServiceConfig{Region: reg, JetStream: connect(), Redis: rdb, Logger: log("escalator"), Metrics: metrics}})
	e2etest.Start(t, "samenloop", samenloop.New, samenloop.Config{ServiceConfig: projector.ServiceConfig{Region: reg, JetStream: connect(), Redis: rdb, Logger: log("samenloop"), Metrics: metrics}})

	s.url = monitortest.Serve(t, monitor.Config{Region: reg, JetStream: connect(), Redis: rdb,
		Logger: log("monitor"), Metrics: metrics, Auth: opts.auth})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("what the services logged:\n%s", logs.String())
		}
	})
	return s
}

// post sends one event to the gateway as partner and fails the test
// unless it is accepted.
func (s *stack) post(t *testing.T, partner string, ev map[string]any) {
	t.Helper()
	e2etest.Post(t, s.gateway, s.vars[e2etest.TokenEnv(partner)], ev)
}

func signaal(id, source, bsn, toelichting string) map[string]any {
	return e2etest.Event(id, source, events.TypeSignaal, map[string]any{
		"bsn": bsn, "categorie": "verward-gedrag", "urgentie": "hoog",
		"toelichting":    toelichting,
		"contactpersoon": map[string]any{"naam": "Wijkagent De Vries", "telefoon": "050-1234567"},
	})
}

func aanmelding(id, bsn, reden string) map[string]any {
	return e2etest.Event(id, sourcePolitie, events.TypeAanmelding, map[string]any{
		"bsn": bsn, "ontvanger": "ggz", "reden": reden,
		"contactpersoon": map[string]any{"naam": "Wijkagent De Vries"},
		"reactietermijn": map[string]any{"werkdagen": 5},
	})
}

// get fetches path from the monitor with header h and returns the status
// and the body.
func (s *stack) get(t *testing.T, path string, h http.Header) (int, string) {
	t.Helper()
	return e2etest.Get(t, s.url+path, h)
}
