package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/shared/redact"
	"github.com/ketenbus/ketenbus/services/shared/testutil/wanttest"
)

const mistakesFile = "../../services/shared/region/testdata/mistakes.yaml"

// checkLine is "FILE:LINE: path: message (hint: …)".
var checkLine = regexp.MustCompile(`^(.+?):(\d+): (\S+): (.+)$`)

// TestPartnersCheckMistakes: every mistake planted in the region package's
// testdata is reported on its line, for its key, and nothing else; as text
// and as JSON lines.
func TestPartnersCheckMistakes(t *testing.T) {
	t.Parallel()
	wants := wanttest.Read(t, mistakesFile)
	if len(wants) < 40 {
		t.Fatalf("read only %d want markers from %s", len(wants), mistakesFile)
	}
	type reported struct {
		line       int
		path, rest string
	}
	check := func(t *testing.T, got []reported) {
		t.Helper()
		matched := make([]bool, len(got))
		for _, w := range wants {
			found := false
			for i, g := range got {
				if g.line == w.Line && g.path == w.Path && strings.Contains(g.rest, w.Text) {
					matched[i], found = true, true
				}
			}
			if !found {
				t.Errorf("line %d %s: no problem containing %q", w.Line, w.Path, w.Text)
			}
		}
		for i, g := range got {
			if !matched[i] {
				t.Errorf("unexpected problem: line %d %s: %s", g.line, g.path, g.rest)
			}
		}
	}

	t.Run("text", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := ketenbus(t, "", "partners", "check", mistakesFile)
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		var got []reported
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			m := checkLine.FindStringSubmatch(l)
			if m == nil || m[1] != mistakesFile {
				if !strings.Contains(l, "environment was not checked") {
					t.Errorf("line not FILE:LINE: path: message: %q", l)
				}
				continue
			}
			n, _ := strconv.Atoi(m[2])
			got = append(got, reported{n, m[3], m[4]})
		}
		check(t, got)
		if want := fmt.Sprintf("%d mistakes", len(got)); !strings.Contains(errOut, want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
		// The hint is written as "(hint: …)".
		if !strings.Contains(out, `mistakes.yaml:4: region: "Noord Holland" is not a valid region name (hint: use lowercase letters`) {
			t.Errorf("the region line is not as expected:\n%s", out)
		}
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		data, err := os.ReadFile(mistakesFile)
		if err != nil {
			t.Fatal(err)
		}
		code, out, errOut := ketenbus(t, string(data), "partners", "check", "--json", "-")
		if code != 1 {
			t.Errorf("exit %d, want 1 (stderr %s)", code, errOut)
		}
		var got []reported
		for _, p := range jsonLines[checkProblem](t, out) {
			if p.File != "<stdin>" || p.Check != "config" {
				t.Errorf("problem %+v: want file <stdin>, check config", p)
			}
			got = append(got, reported{p.Line, p.Path, p.Message + " (hint: " + p.Hint + ")"})
		}
		check(t, got)
	})
}

// TestPartnersCheckExample: the example region is ok; it is a demo region,
// so the secrets not set here are named as generated, not as mistakes.
func TestPartnersCheckExample(t *testing.T) {
	t.Parallel()
	code, out, errOut := ketenbus(t, "", "partners", "check", regionFile)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || lines[len(lines)-1] != regionFile+": ok (9 partners)" {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if len(lines) == 2 && !strings.Contains(lines[0], "demo region:") {
		t.Errorf("first line %q: want the note on generated secrets", lines[0])
	}
	code, out, _ = ketenbus(t, "", "partners", "check", "--no-env", regionFile)
	if code != 0 || !strings.HasSuffix(out, regionFile+": ok (9 partners)\n") || strings.Contains(out, "demo region") {
		t.Errorf("--no-env: exit %d, stdout:\n%s", code, out)
	}
	code, out, _ = ketenbus(t, "", "partners", "check", "--json", "--no-env", regionFile)
	if code != 0 || out != "" {
		t.Errorf("--json: exit %d, stdout %q: want 0 and no problems", code, out)
	}
	code, _, errOut = ketenbus(t, "", "partners", "check", "testdata/missing.yaml")
	if code != 2 || !strings.Contains(errOut, "testdata/missing.yaml: cannot read: no such file or directory") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
	code, _, _ = ketenbus(t, "", "partners", "check")
	if code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
}

// TestPartnersCheckEnv: outside a demo region every variable the config
// names must be set and well-formed; a missing or malformed one is
// reported on the line that names it, without its value. Not parallel: it
// sets environment variables (with a prefix of its own).
func TestPartnersCheckEnv(t *testing.T) {
	src, err := os.ReadFile(regionFile)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "\ndemo: true\n", "\ndemo: false\n", 1)
	text = strings.ReplaceAll(text, "KETENBUS_", "KBCHECKTEST_")
	file := filepath.Join(t.TempDir(), "region.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	fileLines := strings.Split(text, "\n")

	code, out, _ := ketenbus(t, "", "partners", "check", file)
	if code != 1 {
		t.Fatalf("nothing set: exit %d, want 1:\n%s", code, out)
	}
	notSet := regexp.MustCompile(`^(.+):(\d+): (\S+): environment variable (KBCHECKTEST_\w+) is not set \(hint: `)
	vars := map[string]string{} // name -> key path
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := notSet.FindStringSubmatch(l)
		if m == nil || m[1] != file {
			t.Errorf("unexpected line %q", l)
			continue
		}
		n, _ := strconv.Atoi(m[2])
		if n < 1 || n > len(fileLines) || !strings.Contains(fileLines[n-1], m[4]) {
			t.Errorf("%s is reported on line %d, which does not name it", m[4], n)
		}
		vars[m[4]] = m[3]
	}
	if len(vars) != 20 {
		t.Errorf("%d variables reported, want the 20 of the example region", len(vars))
	}

	// Every variable set, well-formed: ok.
	for name, path := range vars {
		t.Setenv(name, validSecret(t, path))
	}
	code, out, _ = ketenbus(t, "", "partners", "check", file)
	if code != 0 || out != file+": ok (9 partners)\n" {
		t.Fatalf("all set: exit %d, stdout:\n%s", code, out)
	}

	// One malformed: reported on its line, its value never shown.
	const bad = "whsec_bm90IGxvbmcgZW5vdWdo" // 15 bytes: too short
	t.Setenv("KBCHECKTEST_WEBHOOK_SECRET_GGZ", bad)
	code, out, _ = ketenbus(t, "", "partners", "check", file)
	m := regexp.MustCompile(`^.+:(\d+): (partners\[\d+\]\.delivery\.webhook\.secret_env): environment variable KBCHECKTEST_WEBHOOK_SECRET_GGZ holds a secret of 15 bytes`).FindStringSubmatch(out)
	if code != 1 || m == nil || strings.Count(out, "\n") != 1 || strings.Contains(out, bad) {
		t.Fatalf("malformed secret: exit %d, stdout:\n%s", code, out)
	}
	if n, _ := strconv.Atoi(m[1]); !strings.Contains(fileLines[n-1], "KBCHECKTEST_WEBHOOK_SECRET_GGZ") {
		t.Errorf("reported on line %d: %q", n, fileLines[n-1])
	}
	code, out, _ = ketenbus(t, "", "partners", "check", "--no-env", file)
	if code != 0 {
		t.Errorf("--no-env: exit %d:\n%s", code, out)
	}
}

// validSecret returns a well-formed value for the variable at key path.
func validSecret(t *testing.T, path string) string {
	t.Helper()
	switch {
	case strings.HasSuffix(path, "secret_env"):
		s, err := webhook.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		return s
	case strings.HasSuffix(path, "key_env"):
		return base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	case strings.HasSuffix(path, "token_sha256_env"):
		sum := sha256.Sum256([]byte(path))
		return hex.EncodeToString(sum[:])
	default: // tokens, unique per variable
		sum := sha256.Sum256([]byte(path))
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
}

func TestPartnersList(t *testing.T) {
	t.Parallel()
	code, out, errOut := ketenbus(t, "", "partners", "list", "--config", regionFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"politie  ", "sources:", "urn:nld:oin:00000009999999990004:systeem:bvh", "publishes:",
		"nl.sociaaldomein.signaal.v1", "subscriptions:", "purpose:", "delivery:", "webhook http://127.0.0.1:8181/"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if strings.Contains(out, "_ENV") || strings.Contains(out, "KETENBUS_") || strings.Contains(out, "whsec_") {
		t.Errorf("stdout names secrets or their variables:\n%s", out)
	}

	code, out, errOut = ketenbus(t, "", "partners", "list", "--json", "--config", regionFile)
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	ps := jsonLines[partnerView](t, out)
	if len(ps) != 9 {
		t.Fatalf("%d partners, want 9", len(ps))
	}
	var politie *partnerView
	for i := range ps {
		if ps[i].ID == "politie" {
			politie = &ps[i]
		}
	}
	if politie == nil || politie.Name == "" || len(politie.Sources) == 0 || len(politie.Publishes) == 0 ||
		len(politie.Subscriptions) == 0 || politie.Subscriptions[0].Purpose == "" || len(politie.Subscriptions[0].Types) == 0 ||
		politie.Delivery.Webhook == nil || !strings.HasPrefix(politie.Delivery.Webhook.URL, "http://127.0.0.1:8181/") {
		t.Errorf("politie: %+v", politie)
	}
	if strings.Contains(out, "KETENBUS_") || strings.Contains(out, "whsec_") {
		t.Errorf("--json names secrets or their variables")
	}
	if got := redact.URL("https://p.example/hook?code=s3cret&x=1"); strings.Contains(got, "s3cret") {
		t.Errorf("redacted URL %q keeps the key", got)
	}
}

// probeRegion writes a region config with partner "ggz" whose webhook is
// url and returns its path. It is not a demo region: the probe needs only
// the partner's own secret.
func probeRegion(t *testing.T, url string, handshake bool) string {
	t.Helper()
	cfg := fmt.Sprintf(`region: proef
pseudonym_key_env: KBPROBETEST_PSEUDONYM_KEY
encryption_key_env: KBPROBETEST_FIELD_KEY
partners:
  - id: zvh
    name: ZVH
    sources: ["urn:nld:oin:00000009999999990003"]
    token_env: KBPROBETEST_TOKEN_ZVH
  - id: ggz
    name: GGZ Proef
    sources: ["urn:nld:kvknr:99999901:systeem:epd"]
    token_env: KBPROBETEST_TOKEN_GGZ
    subscriptions:
      - name: samenloop
        types: [nl.sociaaldomein.samenloop.v1]
        purpose: "urn:nld:ggz-proef:verwerkingsactiviteit:samenloop"
    delivery:
      webhook:
        url: %s
        secret_env: KBPROBETEST_WEBHOOK_SECRET_GGZ
        handshake: %t
        timeout: 2s
escalation:
  ladder: [{level: 1, after_working_days: 0, to: [zvh]}]
samenloop: {regievoerder: zvh}
`, url, handshake)
	file := filepath.Join(t.TempDir(), "region.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// sdkReceiver is a partner's endpoint built on the partner SDK with
// secret; it records the events its handler gets.
type sdkReceiver struct {
	mu     sync.Mutex
	events []cloudevents.Event
}

func startReceiver(t *testing.T, secret string, origins ...string) (*httptest.Server, *sdkReceiver) {
	t.Helper()
	rec := &sdkReceiver{}
	h, err := partner.NewReceiver(partner.ReceiverConfig{
		Secrets:        []string{secret},
		AllowedOrigins: origins,
		Handler: func(_ context.Context, e cloudevents.Event) error {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.events = append(rec.events, e)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, rec
}

func newSecret(t *testing.T) string {
	t.Helper()
	s, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPartnersProbe runs the probe against real HTTP servers; not
// parallel, as it sets the partner's secret in the environment.
func TestPartnersProbe(t *testing.T) {
	secret := newSecret(t)
	t.Setenv("KBPROBETEST_WEBHOOK_SECRET_GGZ", secret)

	t.Run("accepted by the SDK receiver, after the handshake", func(t *testing.T) {
		srv, rec := startReceiver(t, secret, "ketenbus.proef")
		cfg := probeRegion(t, srv.URL+"/ketenbus", true)
		code, out, errOut := ketenbus(t, "", "partners", "probe", "ggz", "--config", cfg)
		if code != 0 {
			t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		for _, want := range [][2]string{{"handshake", "ok: 200, WebHook-Allowed-Origin: ketenbus.proef"}, {"status", "204 No Content"},
			{"latency", ""}, {"event", "nl.ketenbus.probe.v1 probe-"}, {"verdict", "accepted"}} {
			wantField(t, out, want[0], want[1])
		}
		if strings.Contains(out, secret) || strings.Contains(errOut, secret) {
			t.Error("the secret is printed")
		}
		rec.mu.Lock()
		got := rec.events
		rec.mu.Unlock()
		if len(got) != 1 {
			t.Fatalf("the handler got %d events, want 1", len(got))
		}
		e := got[0]
		var data map[string]any
		if err := e.DataAs(&data); err != nil {
			t.Fatal(err)
		}
		if e.Type() != "nl.ketenbus.probe.v1" || e.Subject() != "" || data["test"] != true ||
			!strings.Contains(fmt.Sprint(data["message"]), "Connectivity test") || len(data) != 3 {
			t.Errorf("probe event %s with data %v", e, data)
		}
		if ext := e.Extensions()["ontvanger"]; ext != "ggz" {
			t.Errorf("ontvanger %v, want ggz", ext)
		}

		// --json: the same, as one object.
		code, out, _ = ketenbus(t, "", "partners", "probe", "--json", "ggz", "--config", cfg)
		var r probeResult
		if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
			t.Fatalf("--json: exit %d, %v:\n%s", code, err, out)
		}
		if !r.Accepted || r.SignatureRefused || r.Status != 204 || !r.Sent || r.Handshake == nil || !r.Handshake.OK || r.LatencyMS <= 0 {
			t.Errorf("--json result %+v", r)
		}
	})

	t.Run("binary mode", func(t *testing.T) {
		srv, rec := startReceiver(t, secret)
		cfg := probeRegion(t, srv.URL, false)
		data, _ := os.ReadFile(cfg)
		_ = os.WriteFile(cfg, []byte(strings.Replace(string(data), "timeout: 2s", "timeout: 2s\n        mode: binary", 1)), 0o600)
		code, out, errOut := ketenbus(t, "", "partners", "probe", "ggz", "--config", cfg)
		if code != 0 {
			t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		wantField(t, out, "webhook", srv.URL+" (binary mode)")
		wantField(t, out, "handshake", "not asked")
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.events) != 1 || rec.events[0].Type() != "nl.ketenbus.probe.v1" {
			t.Errorf("events %v", rec.events)
		}
	})

	t.Run("wrong secret", func(t *testing.T) {
		srv, rec := startReceiver(t, newSecret(t))
		cfg := probeRegion(t, srv.URL, false)
		code, out, _ := ketenbus(t, "", "partners", "probe", "ggz", "--config", cfg, "--json")
		var r probeResult
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		if code != 1 || r.Status != 401 || !r.SignatureRefused || r.Accepted || !strings.HasPrefix(r.Verdict, "signature refused") ||
			r.Headers["Content-Type"] != partner.ContentTypeProblem || !strings.Contains(r.Body, "invalid-signature") || len(r.Body) > 200 {
			t.Errorf("exit %d, result %+v", code, r)
		}
		if len(rec.events) != 0 {
			t.Error("the handler got the event")
		}
		code, out, _ = ketenbus(t, "", "partners", "probe", "ggz", "--config", cfg)
		if code != 1 {
			t.Errorf("text: exit %d", code)
		}
		wantField(t, out, "status", "401 Unauthorized")
		wantField(t, out, "verdict", "signature refused")
		wantField(t, out, "body", `{"type":"urn:ketenbus:problem:invalid-signature"`)
	})

	t.Run("handshake refused", func(t *testing.T) {
		srv, rec := startReceiver(t, secret, "ketenbus.elders")
		cfg := probeRegion(t, srv.URL, true)
		code, out, _ := ketenbus(t, "", "partners", "probe", "ggz", "--config", cfg)
		if code != 1 {
			t.Errorf("exit %d", code)
		}
		wantField(t, out, "handshake", "failed: http 403")
		wantField(t, out, "verdict", "handshake failed (http 403)")
		if len(rec.events) != 0 {
			t.Error("an event was sent after a refused handshake")
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cfg := probeRegion(t, "http://"+addr+"/hook", false)
		code, out, _ := ketenbus(t, "", "partners", "probe", "ggz", "--config", cfg)
		if code != 1 {
			t.Errorf("exit %d", code)
		}
		wantField(t, out, "status", "no response: connection refused")
		wantField(t, out, "verdict", "no answer: connection refused")
	})

	t.Run("secret not set", func(t *testing.T) {
		t.Setenv("KBPROBETEST_WEBHOOK_SECRET_GGZ", "")
		cfg := probeRegion(t, "http://127.0.0.1:1/hook", false)
		code, _, errOut := ketenbus(t, "", "partners", "probe", "ggz", "--config", cfg)
		if code != 2 || !strings.Contains(errOut, "environment variable KBPROBETEST_WEBHOOK_SECRET_GGZ (the webhook secret of ggz) is not set") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})

	t.Run("usage", func(t *testing.T) {
		cfg := probeRegion(t, "http://127.0.0.1:1/hook", false)
		code, _, errOut := ketenbus(t, "", "partners", "probe", "nope", "--config", cfg)
		if code != 2 || !strings.Contains(errOut, `no partner "nope"`) || !strings.Contains(errOut, "zvh, ggz") {
			t.Errorf("unknown partner: exit %d, stderr %q", code, errOut)
		}
		code, _, errOut = ketenbus(t, "", "partners", "probe", "zvh", "--config", cfg)
		if code != 2 || !strings.Contains(errOut, "has no webhook") {
			t.Errorf("no webhook: exit %d, stderr %q", code, errOut)
		}
	})
}

// wantField checks that the probe's output has a line "key: value…".
func wantField(t *testing.T, out, key, value string) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `:\s+` + regexp.QuoteMeta(value))
	if !re.MatchString(out) {
		t.Errorf("no line %q: %q in:\n%s", key, value, out)
	}
}
