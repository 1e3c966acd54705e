package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

const (
	sourcePolitie = "urn:nld:oin:00000009999999990001:systeem:bvh"
	sourceGGZ     = "urn:nld:kvknr:99999901:systeem:epd"
	tokenPolitie  = "tok-politie-3f9a8c1d2e7b4a6f"
	tokenGGZ      = "tok-ggz-8b1c2d3e4f5a6b7c"
	tokenWijkteam = "tok-wijkteam-1a2b3c4d5e6f"
	testBSN       = "111222333"
)

var (
	// loggedAt is the time of the test events: an hour ago, within what
	// the gateway accepts (region.CheckTime).
	loggedAt     = time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339)
	pseudonymKey = []byte("0123456789abcdef0123456789abcdef")
	fieldKeys    = [][]byte{[]byte("fedcba9876543210fedcba9876543210")}
)

type fixture struct {
	env     *natstest.Env
	gateway *gateway.Gateway
	srv     *httptest.Server
	logs    *logtest.Buffer
}

func start(t *testing.T, mutate ...func(*gateway.Config)) *fixture {
	t.Helper()
	env := natstest.Start(t)
	reg, err := region.Load("testdata/region.yaml")
	if err != nil {
		t.Fatal(err)
	}
	logger, logs := logtest.New()
	cfg := gateway.Config{
		Region: reg,
		Secrets: region.Secrets{
			PseudonymKey:   pseudonymKey,
			EncryptionKeys: fieldKeys,
			Tokens:         map[string]string{"politie": tokenPolitie, "ggz": tokenGGZ, "wijkteam": tokenWijkteam},
		},
		JetStream:  env.JS,
		Logger:     logger,
		RetryAfter: 3 * time.Second,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(g.Close)
	t.Cleanup(srv.Close)
	return &fixture{env: env, gateway: g, srv: srv, logs: logs}
}

func signaal(id string) map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": id, "source": sourcePolitie,
		"type": events.TypeSignaal, "time": loggedAt,
		"data": map[string]any{
			"bsn": testBSN, "categorie": "verward-gedrag", "urgentie": "hoog",
			"toelichting":    "Man loopt verward over straat",
			"contactpersoon": map[string]any{"naam": "Wijkagent De Vries", "telefoon": "050-1234567"},
		},
	}
}

func aanmelding(id string) map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": id, "source": sourcePolitie,
		"type": events.TypeAanmelding,
		"data": map[string]any{
			"bsn": testBSN, "ontvanger": "ggz", "reden": "Zorgen over psychische gesteldheid",
			"contactpersoon": map[string]any{"naam": "Wijkagent De Vries"},
			"reactietermijn": map[string]any{"werkdagen": 5},
		},
	}
}

// post posts body (JSON-encoded unless it is a []byte) to the fixture's
// gateway with contentType and token (each when not empty) and the extra
// header pairs.
func (f *fixture) post(t *testing.T, contentType, token string, body any, headers ...string) (*http.Response, []byte) {
	t.Helper()
	resp, out, err := send(t, http.DefaultClient, f.srv.URL, contentType, token, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

type answer struct {
	ID        string `json:"id"`
	Sequence  uint64 `json:"sequence"`
	Duplicate bool   `json:"duplicate"`
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	return v
}

func pseudonymOf(bsn string) string {
	p, _ := events.NewPseudonymizer(pseudonymKey)
	return p.Pseudonym(bsn)
}

// assertNoBSNOutsideData: the BSN may only be in data (encrypted by a later
// stage); never in a subject, header or attribute.
func assertNoBSNOutsideData(t *testing.T, m *jetstream.RawStreamMsg) {
	t.Helper()
	if strings.Contains(m.Subject, testBSN) {
		t.Fatalf("BSN in NATS subject %s", m.Subject)
	}
	for k, vs := range m.Header {
		for _, v := range vs {
			if strings.Contains(k+v, testBSN) {
				t.Fatalf("BSN in header %s", k)
			}
		}
	}
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		t.Fatal(err)
	}
	for k, v := range ev {
		if k != "data" && strings.Contains(string(v), testBSN) {
			t.Fatalf("BSN in attribute %s", k)
		}
	}
}

type problemBody struct {
	Type   string             `json:"type"`
	Title  string             `json:"title"`
	Status int                `json:"status"`
	Detail string             `json:"detail"`
	Errors []events.Violation `json:"errors"`
}

func assertProblem(t *testing.T, resp *http.Response, body []byte, status int, pointer string) problemBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q", ct)
	}
	p := decode[problemBody](t, body)
	if p.Status != status || p.Title == "" || p.Detail == "" || !strings.HasPrefix(p.Type, "urn:ketenbus:problem:") {
		t.Fatalf("incomplete problem: %s", body)
	}
	if pointer != "" {
		found := false
		for _, e := range p.Errors {
			found = found || e.Pointer == pointer
		}
		if !found {
			t.Fatalf("no error at %s: %s", pointer, body)
		}
	}
	if status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	if (status == 429 || status == 503) && resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%d without Retry-After", status)
	}
	return p
}

// newGateway builds a gateway for a region config given as YAML, with its
// secrets resolved from env as in production (the pseudonym and field
// keys are added).
func newGateway(t *testing.T, yaml string, env map[string]string) (*gateway.Gateway, *natstest.Env, *logtest.Buffer) {
	t.Helper()
	reg, secrets := parseRegion(t, yaml, env)
	nats := natstest.Start(t)
	logger, logs := logtest.New()
	g, err := gateway.New(gateway.Config{Region: reg, Secrets: secrets, JetStream: nats.JS, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close) // runs after the servers closed
	return g, nats, logs
}

// regionText returns the region config testdata/name.
func regionText(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// parseRegion parses a region config given as YAML and resolves its
// secrets from env, with the pseudonym and field keys added.
func parseRegion(t *testing.T, yaml string, env map[string]string) (*region.Config, region.Secrets) {
	t.Helper()
	reg, err := region.Parse("region.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"KETENBUS_PSEUDONYM_KEY": base64.StdEncoding.EncodeToString(pseudonymKey),
		"KETENBUS_FIELD_KEY":     base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, region.KeySize)),
	}
	for k, v := range env {
		vars[k] = v
	}
	secrets, _, err := reg.ResolveSecrets(func(name string) string { return vars[name] })
	if err != nil {
		t.Fatal(err)
	}
	return reg, secrets
}

// postEvent posts ev in structured mode with token (when not empty) and
// the extra header pairs.
func postEvent(t *testing.T, c *http.Client, url, token string, ev any, headers ...string) (*http.Response, []byte, error) {
	t.Helper()
	return send(t, c, url, events.ContentTypeStructured, token, ev, headers...)
}

// send posts body (JSON-encoded unless it is a []byte) to url's
// /v1/events with contentType and token (each when not empty) and the
// extra header pairs, and returns the answer with its body.
func send(t *testing.T, c *http.Client, url, contentType, token string, body any, headers ...string) (*http.Response, []byte, error) {
	t.Helper()
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, url+"/v1/events", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp, out, err
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
