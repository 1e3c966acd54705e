// Package e2etest holds what the end-to-end tests in tools/e2e and its
// folders share: the secrets of a region as an operator puts them in the
// environment, its config resolved against them, a NATS connection of its
// own for each service, the services started from their configs, and
// CloudEvents posted to the gateway.
package e2etest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// Source URNs of the partners that post events in the tests.
const (
	SourcePolitie  = "urn:nld:oin:00000009999999990001:systeem:bvh"
	SourceWijkteam = "urn:nld:oin:00000009999999990003:systeem:wijkteam"
	SourceGGZ      = "urn:nld:kvknr:99999901:systeem:epd"
)

// TokenEnv names the variable that holds partner id's bearer token for
// the gateway.
func TokenEnv(id string) string { return "KETENBUS_TOKEN_" + strings.ToUpper(id) }

// SecretEnv names the variable that holds partner id's webhook secret.
func SecretEnv(id string) string { return "KETENBUS_WEBHOOK_SECRET_" + strings.ToUpper(id) }

// HookTokenEnv names the variable that holds the bearer token ketenbus
// sends to partner id's webhook, used when the region names token_env.
func HookTokenEnv(id string) string { return "KETENBUS_WEBHOOK_TOKEN_" + strings.ToUpper(id) }

// Vars generates the secrets of a region with the given partner ids, as an
// operator would put them in the environment: the pseudonym and field
// keys, and per partner a gateway token, a webhook secret and a webhook
// bearer token.
func Vars(tb testing.TB, partners ...string) map[string]string {
	tb.Helper()
	vars := map[string]string{
		"KETENBUS_PSEUDONYM_KEY": Key(),
		"KETENBUS_FIELD_KEY":     Key(),
	}
	for _, id := range partners {
		secret, err := webhook.NewSecret()
		if err != nil {
			tb.Fatal(err)
		}
		vars[TokenEnv(id)] = "tok-" + id + "-" + hex.EncodeToString(randomBytes(12))
		vars[SecretEnv(id)] = secret
		vars[HookTokenEnv(id)] = "hook-" + id + "-" + hex.EncodeToString(randomBytes(12))
	}
	return vars
}

// Key returns a new random pseudonym or field key, base64 as the
// environment holds it.
func Key() string { return base64.StdEncoding.EncodeToString(randomBytes(region.KeySize)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// MustRead returns the text of the file at path, a test fixture; it
// panics when the file cannot be read, so that it can set a package
// variable.
func MustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic("read the test fixture: " + err.Error())
	}
	return string(b)
}

// Load parses the region config text, after replacing every "{name}" with
// urls[name], and resolves its secrets from vars. It fails the test when
// the config does not parse or vars lacks a secret.
func Load(tb testing.TB, text string, urls map[string]string, vars map[string]string) (*region.Config, region.Secrets) {
	tb.Helper()
	for name, url := range urls {
		text = strings.ReplaceAll(text, "{"+name+"}", url)
	}
	reg, err := region.Parse("region.yaml", []byte(text))
	if err != nil {
		tb.Fatalf("region config: %v", err)
	}
	secrets, generated, err := reg.ResolveSecrets(func(name string) string { return vars[name] })
	if err != nil {
		tb.Fatalf("region secrets: %v", err)
	}
	if len(generated) > 0 {
		tb.Fatalf("secrets generated for %d variables; the test should set them all", len(generated))
	}
	return reg, secrets
}

// Pseudonym is the subject the gateway gives events about bsn.
func Pseudonym(tb testing.TB, secrets region.Secrets, bsn string) string {
	tb.Helper()
	p, err := events.NewPseudonymizer(secrets.PseudonymKey)
	if err != nil {
		tb.Fatal(err)
	}
	return p.Pseudonym(bsn)
}

// Connect opens a NATS connection of its own for one service, as each
// service has in production; it reconnects for as long as the test runs.
func Connect(tb testing.TB, url string) jetstream.JetStream {
	tb.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		tb.Fatalf("connect to nats-server: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

// ServeGateway serves a gateway of cfg, after each mutate that is not nil
// changed it, on a real HTTP server until the test ends, and returns the
// URL of its events endpoint.
func ServeGateway(tb testing.TB, cfg gateway.Config, mutate ...func(*gateway.Config)) string {
	tb.Helper()
	for _, m := range mutate {
		if m != nil {
			m(&cfg)
		}
	}
	g, err := gateway.New(cfg)
	if err != nil {
		tb.Fatalf("gateway.New: %v", err)
	}
	tb.Cleanup(g.Close) // after the server stopped
	srv := httptest.NewServer(g)
	tb.Cleanup(srv.Close)
	return srv.URL + "/v1/events"
}

// Service is what Start runs.
type Service interface {
	Run(ctx context.Context) error
}

// Start builds a service from cfg with build (router.New, adapter.New,
// escalator.New, samenloop.New), after each mutate that is not nil
// changed cfg, and runs it in the background, as runtest.Start does: stop
// ends it, as does the end of the test. It fails the test when build
// does.
func Start[C any, S Service](tb testing.TB, name string, build func(C) (S, error), cfg C, mutate ...func(*C)) (svc S, stop func()) {
	tb.Helper()
	for _, m := range mutate {
		if m != nil {
			m(&cfg)
		}
	}
	svc, err := build(cfg)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return svc, runtest.Start(tb, name, svc.Run)
}

// Send posts body to url with the bearer token, the content type and the
// headers in header, and returns the status and the answer.
func Send(client *http.Client, url, token, contentType string, body []byte, header http.Header) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}

// Post sends one event in structured mode to the gateway's events
// endpoint url with the bearer token, and fails the test unless the
// gateway accepted it.
func Post(tb testing.TB, url, token string, ev map[string]any) {
	tb.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	status, answer, err := Send(http.DefaultClient, url, token, events.ContentTypeStructured, body, nil)
	if err != nil {
		tb.Fatalf("post to the gateway: %v", err)
	}
	if status != http.StatusAccepted {
		tb.Fatalf("gateway answered %d: %s", status, answer)
	}
}

// Event builds a CloudEvent as a partner's system posts it, logged now
// (the gateway refuses a time older than the type's retention, which a
// test may make seconds).
func Event(id, source, typ string, data map[string]any) map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": typ,
		"time": time.Now().Format(time.RFC3339Nano), "datacontenttype": "application/json",
		"data": data,
	}
}

// Problems returns the lines of a JSON log at level WARN or ERROR.
func Problems(log string) string {
	var out strings.Builder
	for line := range strings.Lines(log) {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			out.WriteString(line)
		}
	}
	return out.String()
}

// Get fetches url with the headers in header, without following a
// redirect, and returns the status and the body.
func Get(tb testing.TB, url string, header http.Header) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Hook is a partner's webhook endpoint that checks nothing: it answers
// every request with Status (204 until set) and, when that is not a
// success, echoes the request body, the worst a partner could answer. It
// counts the requests, and keeps the CloudEvents type of each it
// answered with a success.
type Hook struct {
	// URL is where the hook is served.
	URL string
	// Status is the status the hook answers.
	Status atomic.Int32

	mu       sync.Mutex
	received int
	types    []string
}

// ServeHook serves a new Hook on a real HTTP server, at path, until the
// test ends.
func ServeHook(tb testing.TB, path string) *Hook {
	tb.Helper()
	h := &Hook{}
	h.Status.Store(http.StatusNoContent)
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	h.URL = srv.URL + path
	return h
}

// ServeHTTP answers r with the hook's status.
func (h *Hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	status := int(h.Status.Load())
	var e struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &e)
	h.mu.Lock()
	h.received++
	if status < 300 {
		h.types = append(h.types, e.Type)
	}
	h.mu.Unlock()
	w.WriteHeader(status)
	if status >= 300 {
		_, _ = w.Write(body)
	}
}

// Received is the number of requests the hook received.
func (h *Hook) Received() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.received
}

// Delivered returns, sorted, the types of the events the hook answered
// with a success.
func (h *Hook) Delivered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(slices.Values(h.types))
}
