// Package svcmaintest runs the main of a service in the test process, as
// its binary would run, against a region config file with its secrets in
// a test environment.
package svcmaintest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natsauthtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

// RegionText is a production region (no demo mode): a partner that
// publishes, a webhook partner that receives, and an operator token for
// the monitor. Its secrets are the variables of Env.
const RegionText = `
region: svcmain
source: "urn:nld:oin:00000009999999990000:systeem:ketenbus"
pseudonym_key_env: KETENBUS_PSEUDONYM_KEY
encryption_key_env: KETENBUS_FIELD_KEY
partners:
  - id: politie
    name: Politie Testregio
    sources: ["urn:nld:oin:00000009999999990001:systeem:bvh"]
    token_env: KETENBUS_TOKEN_POLITIE
    publishes: [nl.sociaaldomein.signaal.v1, nl.sociaaldomein.aanmelding.v1]
  - id: zvh
    name: Zorg- en Veiligheidshuis Testregio
    sources: ["urn:nld:oin:00000009999999990003:systeem:procesregie"]
    token_env: KETENBUS_TOKEN_ZVH
    subscriptions:
      - name: signalen
        types: [nl.sociaaldomein.signaal.v1]
        purpose: "urn:nld:zvh-test:verwerkingsactiviteit:signalen"
    delivery:
      webhook:
        url: https://zvh.example/ketenbus
        secret_env: KETENBUS_WEBHOOK_SECRET_ZVH
monitor:
  token_env: KETENBUS_MONITOR_TOKEN
escalation:
  ladder:
    - {level: 1, after_working_days: 0, to: [zvh]}
samenloop: {window_days: 730, regievoerder: zvh}
`

// Region is a region config file with the environment holding its
// secrets.
type Region struct {
	// Path is the file.
	Path string
	// Env holds the secrets and what a test adds.
	Env map[string]string
}

// NewRegion writes text (RegionText when empty) to a file in
// tb.TempDir() and generates the secrets of RegionText.
func NewRegion(tb testing.TB, text string) *Region {
	tb.Helper()
	if text == "" {
		text = RegionText
	}
	path := filepath.Join(tb.TempDir(), "region.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		tb.Fatal(err)
	}
	return &Region{Path: path, Env: map[string]string{
		"KETENBUS_PSEUDONYM_KEY":      base64.StdEncoding.EncodeToString(randomBytes(region.KeySize)),
		"KETENBUS_FIELD_KEY":          base64.StdEncoding.EncodeToString(randomBytes(region.KeySize)),
		"KETENBUS_TOKEN_POLITIE":      "tok-politie-" + base64.RawURLEncoding.EncodeToString(randomBytes(18)),
		"KETENBUS_TOKEN_ZVH":          "tok-zvh-" + base64.RawURLEncoding.EncodeToString(randomBytes(18)),
		"KETENBUS_WEBHOOK_SECRET_ZVH": secret,
		"KETENBUS_MONITOR_TOKEN":      "mon-" + base64.RawURLEncoding.EncodeToString(randomBytes(18)),
	}}
}

// Getenv reads Env.
func (r *Region) Getenv(name string) string { return r.Env[name] }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Proc is a main running in the test process.
type Proc struct {
	// Stdout and Stderr collect what the main writes.
	Stdout, Stderr *logtest.Buffer

	cancel context.CancelFunc
	done   chan int
	code   int
	exited bool
}

// Start runs svcmain.Main(svc, args, getenv) in the background; the end
// of the test stops it.
func Start(tb testing.TB, svc svcmain.Service, args []string, getenv func(string) string) *Proc {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proc{Stdout: &logtest.Buffer{}, Stderr: &logtest.Buffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { p.done <- svcmain.Main(ctx, svc, args, getenv, p.Stdout, p.Stderr) }()
	tb.Cleanup(func() {
		cancel()
		if !p.exited {
			select {
			case p.code = <-p.done:
				p.exited = true
			case <-time.After(45 * time.Second):
				tb.Errorf("%s did not stop within 45s after its context ended", svc.Name)
			}
		}
		if tb.Failed() {
			tb.Logf("stderr of %s:\n%s", svc.Name, p.Stderr.String())
		}
	})
	return p
}

// Run runs the main until it exits on its own and returns its exit code;
// it fails the test when that takes longer than a minute.
func Run(tb testing.TB, svc svcmain.Service, args []string, getenv func(string) string) (*Proc, int) {
	tb.Helper()
	p := Start(tb, svc, args, getenv)
	return p, p.Wait(tb, time.Minute)
}

// Wait returns the exit code once the main returned by itself, failing
// the test after timeout.
func (p *Proc) Wait(tb testing.TB, timeout time.Duration) int {
	tb.Helper()
	if p.exited {
		return p.code
	}
	select {
	case p.code = <-p.done:
		p.exited = true
		return p.code
	case <-time.After(timeout):
		tb.Fatalf("the main did not exit within %s; stderr:\n%s", timeout, p.Stderr.String())
		return -1
	}
}

// Stop cancels the main's context (SIGINT or SIGTERM) and returns its
// exit code.
func (p *Proc) Stop(tb testing.TB) int {
	tb.Helper()
	p.cancel()
	return p.Wait(tb, 45*time.Second)
}

// WaitLog waits until the main logged a line with msg and returns its
// attributes; it fails the test when the main exits first or after 30s.
func (p *Proc) WaitLog(tb testing.TB, msg string) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for line := range strings.Lines(p.Stderr.String()) {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				return rec
			}
		}
		select {
		case code := <-p.done:
			p.code, p.exited = code, true
			tb.Fatalf("the main exited with %d before logging %q; stderr:\n%s", code, msg, p.Stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the main did not log %q within 30s; stderr:\n%s", msg, p.Stderr.String())
		}
	}
}

// Get GETs url with the optional headers (name, value, …) and returns the
// status and body.
func Get(tb testing.TB, url string, headers ...string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// WantMetrics fails the test unless body (a /metrics answer) has a sample
// or a HELP line of every name.
func WantMetrics(tb testing.TB, body string, names ...string) {
	tb.Helper()
	for _, name := range names {
		if !strings.Contains(body, "\n"+name+" ") && !strings.Contains(body, "\n"+name+"{") && !strings.HasPrefix(body, name+" ") {
			tb.Errorf("/metrics has no %s", name)
		}
	}
}

// NoSecrets fails the test when out holds the value of any variable of
// env, such as Region.Env: pass only variables that hold secrets.
func NoSecrets(tb testing.TB, out string, env map[string]string) {
	tb.Helper()
	for name, v := range env {
		if v != "" && strings.Contains(out, v) {
			tb.Errorf("the output holds the value of %s", name)
		}
	}
}

// WaitOK GETs url until it answers 200, failing the test after 15s with
// the last answer.
func WaitOK(tb testing.TB, url string) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := Get(tb, url)
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("GET %s = %d %q after 15s, want 200", url, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartAuthNATS starts nats-server with JetStream and the users of the
// region at Region.Path, each with the permissions natsauth generates, as
// deploy/nats runs it (natsauthtest.Start: the streams and the partners'
// consumers are created as admin); adds every user's password to
// Region.Env under its natsauth.PasswordEnv; and returns the client URL.
// The server stops when the test ends.
func (r *Region) StartAuthNATS(t *testing.T) string {
	t.Helper()
	cfg := natsauthtest.LoadRegion(t, r.Path)
	users, err := natsauth.Users(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := natsauthtest.Start(t, cfg)
	for _, u := range users {
		r.Env[u.PasswordEnv] = srv.Passwords[u.Name]
	}
	return srv.URL
}

// NoNATSErrors fails the test when the main logged an error NATS
// reported, such as a permissions violation, other than those that
// contain one of known.
func (p *Proc) NoNATSErrors(tb testing.TB, known ...string) {
	tb.Helper()
	for line := range strings.Lines(p.Stderr.String()) {
		if strings.Contains(line, `"msg":"NATS reported an error"`) && !slices.ContainsFunc(known, func(k string) bool { return strings.Contains(line, k) }) {
			tb.Errorf("NATS reported an error: %s", line)
		}
	}
}

// ServeMetrics starts svc with reg's config, NATS at natsURL, its metrics
// on a free port and the extra args; waits until it started, checks that
// /healthz answers 200 and /readyz comes to 200, and returns the process
// and what /metrics serves.
func (r *Region) ServeMetrics(tb testing.TB, svc svcmain.Service, natsURL string, extra ...string) (*Proc, string) {
	tb.Helper()
	args := append([]string{"--config", r.Path, "--nats-url", natsURL, "--metrics-addr", "127.0.0.1:0"}, extra...)
	p := Start(tb, svc, args, r.Getenv)
	base := "http://" + p.WaitLog(tb, "metrics listening")["addr"].(string)
	p.WaitLog(tb, "started")
	if code, _ := Get(tb, base+"/healthz"); code != 200 {
		tb.Errorf("GET /healthz = %d, want 200", code)
	}
	WaitOK(tb, base+"/readyz")
	_, body := Get(tb, base+"/metrics")
	return p, body
}

// StopClean stops p with SIGTERM, fails unless it exits 0, and checks that
// its output holds none of reg's secrets.
func (r *Region) StopClean(tb testing.TB, p *Proc) {
	tb.Helper()
	if code := p.Stop(tb); code != svcmain.ExitOK {
		tb.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	NoSecrets(tb, p.Stderr.String(), r.Env)
}

// ServeAsNATSUser runs svc as ServeMetrics does, under its own NATS user
// with the permissions of deploy/nats (StartAuthNATS), stops it cleanly,
// fails on any permissions violation the server saw, and returns what
// /metrics served.
func (r *Region) ServeAsNATSUser(t *testing.T, svc svcmain.Service, extra ...string) string {
	t.Helper()
	p, body := r.ServeMetrics(t, svc, r.StartAuthNATS(t), extra...)
	r.StopClean(t, p)
	p.NoNATSErrors(t)
	return body
}

// WantRedisRequired runs svc with a Redis that does not answer and fails
// unless it exits with an error naming the address and the --redis-url
// flag, and holding none of the region's secrets.
func WantRedisRequired(tb testing.TB, svc svcmain.Service) {
	tb.Helper()
	env := natstest.Start(tb)
	reg := NewRegion(tb, "")
	p, code := Run(tb, svc, []string{"--config", reg.Path, "--nats-url", env.URL, "--redis-url", "redis://127.0.0.1:1", "--metrics-addr", "127.0.0.1:0"}, reg.Getenv)
	if code != svcmain.ExitError {
		tb.Fatalf("exit code %d, want %d", code, svcmain.ExitError)
	}
	out := p.Stderr.String()
	if !strings.Contains(out, "connect to Redis at 127.0.0.1:1") || !strings.Contains(out, "--redis-url") {
		tb.Errorf("stderr does not say Redis does not answer:\n%s", out)
	}
	NoSecrets(tb, out, reg.Env)
}

// TestRedisService runs, as parallel subtests of t, what the main of a
// service that keeps its state in Redis (the escalator, samenloop
// detection) must do: with NATS and Redis it serves every metric of want
// on --metrics-addr and stops cleanly (servesMetricsAndStops); without a
// Redis that answers it does not start (redisRequired,
// WantRedisRequired); under its own NATS user it serves asUser and stops
// without a single permissions violation (asNATSUser, ServeAsNATSUser).
func TestRedisService(t *testing.T, svc svcmain.Service, want, asUser []string) {
	t.Helper()
	t.Run("servesMetricsAndStops", func(t *testing.T) {
		t.Parallel()
		env := natstest.Start(t)
		rs := redistest.Start(t)
		reg := NewRegion(t, "")
		p, body := reg.ServeMetrics(t, svc, env.URL, "--redis-url", rs.URL())
		WantMetrics(t, body, want...)
		reg.StopClean(t, p)
	})
	t.Run("redisRequired", func(t *testing.T) {
		t.Parallel()
		WantRedisRequired(t, svc)
	})
	t.Run("asNATSUser", func(t *testing.T) {
		t.Parallel()
		rs := redistest.Start(t)
		body := NewRegion(t, "").ServeAsNATSUser(t, svc, "--redis-url", rs.URL())
		WantMetrics(t, body, asUser...)
	})
}
