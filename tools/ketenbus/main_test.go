package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
)

const regionFile = "../../deploy/examples/region.yaml"

// ketenbus runs the command line in-process and returns its exit code,
// stdout and stderr.
func ketenbus(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// usageCase is a command line that must be refused as wrong usage.
type usageCase struct {
	name     string
	args     []string
	inStderr string
}

// wantUsage runs the command line prefix, args, suffix of each case in a
// parallel subtest: it must exit 2 (before connecting to anything: give
// addresses where nothing listens), say inStderr on stderr and repeat
// none of hidden, numbers that may be a BSN.
func wantUsage(t *testing.T, prefix, suffix []string, cases []usageCase, hidden ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runFor(t, 10*time.Second, slices.Concat(prefix, tc.args, suffix)...)
			if code != 2 || !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("exit %d, stderr %q: want 2 and %q", code, errOut, tc.inStderr)
			}
			for _, h := range hidden {
				if strings.Contains(out+errOut, h) {
					t.Errorf("the output repeats the number %s:\n%s%s", h, out, errOut)
				}
			}
		})
	}
}

// jsonLines decodes out, JSON lines: one value of type T on each line.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var vs []T
	for line := range strings.Lines(out) {
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("not JSON lines: line %q: %v\n%s", line, err, out)
		}
		vs = append(vs, v)
	}
	return vs
}

// running is a command line running until Ctrl-C, as a user runs
// ketenbus dev or tail.
type running struct {
	t           *testing.T
	out, errOut logtest.Buffer
	done        chan int
	interrupt   context.CancelFunc
}

// start runs the command line in the background; the test's end stops
// it.
func start(t *testing.T, args ...string) *running {
	ctx, interrupt := context.WithCancel(context.Background())
	t.Cleanup(interrupt)
	r := &running{t: t, done: make(chan int, 1), interrupt: interrupt}
	go func() { r.done <- run(ctx, args, strings.NewReader(""), &r.out, &r.errOut) }()
	return r
}

// waitFor waits up to d for ok, failing the test when the command ends
// first or ok does not come.
func (r *running) waitFor(what string, d time.Duration, ok func() bool) {
	r.t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(10 * time.Millisecond) {
		select {
		case code := <-r.done:
			r.t.Fatalf("ended with %d while waiting for %s:\n%s\n%s", code, what, r.out.String(), r.errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no %s after %s:\n%s", what, d, r.out.String())
		}
	}
}

// stop presses Ctrl-C and wants exit 0 within d.
func (r *running) stop(d time.Duration) {
	r.t.Helper()
	r.interrupt()
	select {
	case code := <-r.done:
		if code != 0 {
			r.t.Errorf("exit %d after Ctrl-C, want 0; stderr:\n%s", code, r.errOut.String())
		}
	case <-time.After(d):
		r.t.Fatalf("did not stop within %s of Ctrl-C", d)
	}
}

func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(lines)
	return lines
}

func TestValidate(t *testing.T) {
	t.Parallel()
	signaal, err := os.ReadFile("testdata/signaal.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		code     int
		stdout   []string // in any order: violations come in no fixed order
		inStderr string
	}{
		{name: "signaal", args: []string{"testdata/signaal.json"}, code: 0,
			stdout: []string{"testdata/signaal.json: ok (1 event)"}},
		{name: "batch", args: []string{"testdata/batch.json"}, code: 0,
			stdout: []string{"testdata/batch.json: ok (2 events)"}},
		{name: "stdin", args: []string{"-"}, stdin: string(signaal), code: 0,
			stdout: []string{"<stdin>: ok (1 event)"}},
		{name: "invalid", args: []string{"testdata/invalid.json"}, code: 1,
			stdout: []string{
				"testdata/invalid.json: /data/bsn: bsn must be 9 digits that pass the elfproef (11-test)",
				"testdata/invalid.json: /data/categorie: categorie must be one of: verward-gedrag, huiselijk-geweld, schulden, overlast, schooluitval, radicalisering, verslaving, anders",
				"testdata/invalid.json: /data/contactpersoon: contactpersoon is required",
			}},
		{name: "invalid batch", args: []string{"testdata/invalid-batch.json"}, code: 1,
			stdout: []string{
				`testdata/invalid-batch.json: /1/data/urgentie: urgentie must be one of: laag, midden, hoog, acuut`,
				`testdata/invalid-batch.json: /1/source: source "politie" is not a URN of the NL GOV profile: it must start with urn:nld:oin:<20-digit OIN> or urn:nld:kvknr:<8-digit KvK number>`,
			}},
		{name: "time far ahead", args: []string{"-"}, stdin: strings.Replace(string(signaal), `"specversion"`, `"time": "9999-12-31T00:00:00Z", "specversion"`, 1), code: 1,
			stdout: []string{"<stdin>: /time: time 9999-12-31T00:00:00Z is more than 1 day ahead of the gateway's clock; time is when the event was logged, not a due date"}},
		{name: "time far ahead in a batch", args: []string{"-"}, stdin: "[" + string(signaal) + "," + strings.Replace(string(signaal), `"specversion"`, `"time": "9999-12-31T00:00:00Z", "specversion"`, 1) + "]", code: 1,
			stdout: []string{"<stdin>: /1/time: time 9999-12-31T00:00:00Z is more than 1 day ahead of the gateway's clock; time is when the event was logged, not a due date"}},
		{name: "valid and invalid", args: []string{"testdata/signaal.json", "testdata/invalid.json"}, code: 1},
		{name: "not JSON", args: []string{"-"}, stdin: "{", code: 1},
		{name: "control character", args: []string{"-"}, code: 1,
			stdin: strings.Replace(string(signaal), `"id": "`, `"id": "x\u001b\n`, 1),
			stdout: []string{"<stdin>: /id: id holds the control character U+001B (escape) at character 2: " +
				"CloudEvents allows no control characters, surrogates or noncharacters in a String attribute; remove it"}},
		{name: "missing file", args: []string{"testdata/signaal.json", "testdata/missing.json"}, code: 2,
			stdout:   []string{"testdata/signaal.json: ok (1 event)"},
			inStderr: "testdata/missing.json: cannot read: no such file or directory"},
		{name: "no file", args: nil, code: 2, inStderr: "name at least one FILE"},
		{name: "unknown flag", args: []string{"--nope", "x.json"}, code: 2, inStderr: "unknown flag: --nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := ketenbus(t, tc.stdin, append([]string{"validate"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			if tc.stdout != nil {
				want := slices.Clone(tc.stdout)
				slices.Sort(want)
				if got := sortedLines(out); !slices.Equal(got, want) {
					t.Errorf("stdout lines\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			if !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.inStderr)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := ketenbus(t, "", "validate", "--json", "testdata/batch.json", "testdata/invalid.json")
	if code != 1 {
		t.Errorf("exit code %d, want 1 (stderr %s)", code, errOut)
	}
	var results []validateResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("--json output is not a JSON list: %v\n%s", err, out)
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	if r := results[0]; !r.Valid || r.Events != 2 || len(r.Errors) != 0 || r.File != "testdata/batch.json" {
		t.Errorf("batch result %+v, want valid with 2 events", r)
	}
	r := results[1]
	var pointers []string
	for _, v := range r.Errors {
		pointers = append(pointers, v.Pointer)
	}
	slices.Sort(pointers)
	if r.Valid || !slices.Equal(pointers, []string{"/data/bsn", "/data/categorie", "/data/contactpersoon"}) {
		t.Errorf("invalid result %+v, want the pointers /data/bsn, /data/categorie, /data/contactpersoon", r)
	}
}

func TestHelpHasExamples(t *testing.T) {
	t.Parallel()
	for _, cmd := range [][]string{{"--help"}, {"dev", "--help"}, {"validate", "--help"}} {
		code, out, _ := ketenbus(t, "", cmd...)
		if code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("ketenbus %s: exit %d, no examples in:\n%s", strings.Join(cmd, " "), code, out)
		}
	}
	if code, out, _ := ketenbus(t, "", "completion", "bash"); code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("ketenbus completion bash: exit %d", code)
	}
}

func TestDevAddrInUse(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	for _, flag := range []string{"--nats-addr", "--gateway-addr", "--sink-addr", "--monitor-addr"} {
		t.Run(flag, func(t *testing.T) {
			args := []string{"dev", "--config", regionFile, "--data-dir", t.TempDir(),
				"--nats-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--sink-addr", "127.0.0.1:0", "--monitor-addr", "127.0.0.1:0", flag, addr}
			code, _, errOut := ketenbus(t, "", args...)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			// The last line; log lines come before it.
			want := regexp.MustCompile(`\nketenbus dev: ` + regexp.QuoteMeta(addr) +
				` is already in use \(probably another [^)]+\)\. Pass a free address: ketenbus dev ` + flag + ` 127\.0\.0\.1:\d+\n$`)
			errOut = "\n" + errOut
			if !want.MatchString(errOut) {
				t.Errorf("stderr %q, want it to match %s", errOut, want)
			}
		})
	}
}

func TestDevBadConfig(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "region.yaml")
	if err := os.WriteFile(cfg, []byte("region: Demo\npartners: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := ketenbus(t, "", "dev", "--config", cfg, "--data-dir", t.TempDir(),
		"--nats-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--sink-addr", "127.0.0.1:0", "--monitor-addr", "127.0.0.1:0")
	// Errors pass events.RedactBSNs: the temporary directory's random
	// digits can pass the elfproef, and are then printed as [bsn].
	if code != 1 || !strings.Contains(errOut, "the region config cannot be used:\n  "+events.RedactBSNs(cfg)+":1: region") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// TestDev runs `ketenbus dev` as a user does: it prints where everything
// listens and the demo tokens, answers, and stops cleanly on Ctrl-C.
func TestDev(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	dev := start(t, "dev", "--config", regionFile, "--data-dir", dataDir,
		"--nats-addr", "127.0.0.1:0", "--gateway-addr", "127.0.0.1:0", "--sink-addr", "127.0.0.1:0", "--monitor-addr", "127.0.0.1:0", "--log-level", "debug")
	out, logs := &dev.out, &dev.errOut

	gatewayURL := regexp.MustCompile(`gateway\s+(http://127\.0\.0\.1:\d+)/v1/events`)
	var base string
	dev.waitFor("banner of a ready ketenbus dev", 30*time.Second, func() bool {
		if m := gatewayURL.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "Ctrl-C") {
			base = m[1]
		}
		return base != ""
	})

	banner := out.String()
	demoEnv := filepath.Join(dataDir, "demo.env")
	for _, want := range []string{"nats://127.0.0.1:", "/metrics", dataDir, demoEnv,
		"KETENBUS_TOKEN_POLITIE=", "curl -i " + base + "/v1/events", "$KETENBUS_TOKEN_POLITIE"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz: %d, want 200", resp.StatusCode)
	}
	// The dashboard: open in dev, and saying so on the banner and in the log.
	dashboard := regexp.MustCompile(`dashboard\s+(http://127\.0\.0\.1:\d+)/ \(open: no sign-in, dev only\)`).FindStringSubmatch(banner)
	if dashboard == nil {
		t.Fatalf("banner lacks the open dashboard:\n%s", banner)
	}
	resp, err = http.Get(dashboard[1] + "/")
	if err != nil {
		t.Fatalf("GET the dashboard: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Overzicht") {
		t.Errorf("GET the dashboard: %d, want the overview", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "the monitor asks nobody to sign in") {
		t.Errorf("no warning in the log that the dashboard is open")
	}
	// The metrics of every service on the monitor, as the banner says;
	// none on the gateway, whose port is the partners'.
	if !regexp.MustCompile(`metrics\s+` + regexp.QuoteMeta(dashboard[1]) + `/metrics`).MatchString(banner) {
		t.Errorf("banner does not name the monitor's /metrics:\n%s", banner)
	}
	resp, err = http.Post(base+"/v1/events", "application/cloudevents+json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("POST without a token: %v", err)
	}
	resp.Body.Close()
	resp, err = http.Get(dashboard[1] + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics of the monitor: %v", err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ketenbus_gateway_refusals_total{reason="unauthenticated"} 1`, "ketenbus_router_pending_events"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(metrics), want) {
			t.Errorf("GET /metrics of the monitor: %d, no %s", resp.StatusCode, want)
		}
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics of the gateway: %v", err)
	}
	metrics, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || strings.Contains(string(metrics), "ketenbus_") {
		t.Errorf("GET /metrics on the gateway: %d %s, want 404 and no metrics", resp.StatusCode, metrics)
	}

	dev.stop(30 * time.Second)
	if !strings.HasSuffix(out.String(), "Stopped.\n") {
		t.Errorf("no clean stop:\n%s", out.String())
	}

	// The tokens are shown on stdout, for the user; never in the logs.
	for name, value := range envFile(t, demoEnv) {
		if strings.Contains(logs.String(), value) {
			t.Errorf("the value of %s appears in the log", name)
		}
	}
}
