package natsauth_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natsauthtest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// testRegion is the region of the natsauth tests: two NATS-native
// partners and a webhook partner.
const testRegion = "../../../services/shared/natsauth/testdata/region.yaml"

// The partners of testRegion.
const (
	partnerA   = "woningcorporatie" // NATS-native
	partnerB   = "schuldhulp"       // NATS-native
	webhookOne = "wijkteam"
)

// Sources of the partners of testRegion.
var sources = map[string]string{
	partnerA:   "urn:nld:kvknr:99999903:systeem:huurdersportaal",
	partnerB:   "urn:nld:kvknr:99999904:systeem:schuldhulp",
	webhookOne: "urn:nld:oin:00000009999999990002:systeem:clientregistratie",
}

// bsn is fictitious: it passes the elfproef but belongs to no one.
const bsn = "111222333"

// core is testRegion on a nats-server with the region's generated
// authorization, and the services every test here runs, each connected
// as its own user: the gateway on a real HTTP server, the router and the
// adapter.
type core struct {
	cfg     *region.Config
	secrets region.Secrets
	srv     *natsauthtest.Server
	logger  *slog.Logger
	logs    *logtest.Buffer
	// gateway is the URL of the gateway's events endpoint.
	gateway string
	// hook is the webhook partner's endpoint.
	hook *e2etest.Hook
	// conns holds the connection of every user connected through connect.
	conns map[string]*natsauthtest.Client
}

// startCore starts the core of testRegion, in account when not empty;
// retry, when given, replaces the webhook partner's retry schedule. When the test fails, it logs what the server
// refused the users and the services' warnings and errors.
func startCore(t *testing.T, account string, retry ...time.Duration) *core {
	t.Helper()
	cfg := natsauthtest.LoadRegion(t, testRegion)
	hook := e2etest.ServeHook(t, "/"+webhookOne)
	p, _ := cfg.Partner(webhookOne)
	p.Delivery.Webhook.URL = hook.URL
	if len(retry) > 0 {
		p.Delivery.Webhook.RetrySchedule = retry
	}
	secrets, _, err := cfg.ResolveSecrets(func(string) string { return "" }) // a demo region: generated
	if err != nil {
		t.Fatal(err)
	}
	c := &core{cfg: cfg, secrets: secrets, srv: natsauthtest.StartIn(t, cfg, account), hook: hook, conns: map[string]*natsauthtest.Client{}}
	c.logger, c.logs = logtest.New()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("refused by the server: %q\nwarnings and errors:\n%s", c.violations(), e2etest.Problems(c.logs.String()))
		}
	})

	c.gateway = e2etest.ServeGateway(t, gateway.Config{Region: cfg, Secrets: secrets, JetStream: c.connect(t, natsauth.UserGateway), Logger: c.log("gateway")})
	e2etest.Start(t, "router", router.New, router.Config{Region: cfg, JetStream: c.connect(t, natsauth.UserRouter), Logger: c.log("router")})
	e2etest.Start(t, "adapter", adapter.New, adapter.Config{Region: cfg, Secrets: secrets, JetStream: c.connect(t, natsauth.UserAdapter), Logger: c.log("adapter")})
	return c
}

// log is the logger of one service.
func (c *core) log(service string) *slog.Logger { return c.logger.With("service", service) }

// client connects as user and keeps the connection in conns.
func (c *core) client(t *testing.T, user string) *natsauthtest.Client {
	t.Helper()
	cl := c.srv.Connect(t, user)
	c.conns[user] = cl
	return cl
}

// connect is client's JetStream.
func (c *core) connect(t *testing.T, user string) jetstream.JetStream {
	t.Helper()
	return c.client(t, user).JS
}

// violations returns what the server refused the users of conns.
func (c *core) violations() []string {
	var refused []string
	for _, cl := range c.conns {
		refused = append(refused, cl.Violations()...)
	}
	return refused
}

// post sends the event id of typ with data to the gateway as partnerID,
// and fails the test unless the gateway accepted it.
func (c *core) post(t *testing.T, partnerID, id, typ string, data map[string]any) {
	t.Helper()
	e2etest.Post(t, c.gateway, c.secrets.Tokens[partnerID], e2etest.Event(id, sources[partnerID], typ, data))
}
