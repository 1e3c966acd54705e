package devstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	"github.com/ketenbus/ketenbus/services/region"
	"github.com/ketenbus/ketenbus/services/testutil/logtest"
	"github.com/ketenbus/ketenbus/tools/internal/devstack"
)

// The demo region of the repository, as `ketenbus dev` reads it.
const regionFile = "../../../deploy/examples/region.yaml"

const (
	// bsn is fictitious: it passes the elfproef but belongs to no one.
	bsn           = "111222333"
	politieSource = "urn:nld:oin:00000009999999990004:systeem:bvh"
	ggzSource     = "urn:nld:kvknr:99999901:systeem:epd"
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func noEnv(string) string { return "" }

// start starts the stack on free ports with dataDir, logging everything
// into logs, and closes it when the test ends.
func start(t *testing.T, dataDir string, logs io.Writer, opts ...func(*devstack.Options)) *devstack.Stack {
	t.Helper()
	o := devstack.Options{
		ConfigPath:  regionFile,
		DataDir:     dataDir,
		GatewayAddr: "127.0.0.1:0",
		NATSAddr:    "127.0.0.1:0",
		SinkAddr:    "127.0.0.1:0",
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv:      noEnv,
	}
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := devstack.Start(ctx, o)
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	t.Cleanup(func() { stop(t, s) })
	return s
}

func stop(t *testing.T, s *devstack.Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("close dev stack: %v", err)
	}
}

// signaal is a signaal of politie.
func signaal(id, bsn string) string { return signaalFrom(politieSource, id, bsn) }

func signaalFrom(source, id, bsn string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":%q,"type":"nl.sociaaldomein.signaal.v1",
		"datacontenttype":"application/json","data":{"bsn":%q,"categorie":"verward-gedrag",
		"urgentie":"hoog","contactpersoon":{"naam":"A. de Boer"}}}`, id, source, bsn)
}

// post sends body in structured mode with the partner token, the way the
// README's curl does, and returns the status and the body of the answer.
func post(t *testing.T, s *devstack.Stack, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.GatewayURL+"/v1/events", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", events.ContentTypeStructured)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post event: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type answer struct {
	ID       string `json:"id"`
	Sequence uint64 `json:"sequence"`
}

// stored reads the message at seq from the EVENTS stream and checks that
// the BSN is in neither its NATS subject nor its headers, and that its
// CloudEvents subject is a pseudonym; it returns the pseudonym.
func stored(t *testing.T, s *devstack.Stack, seq uint64) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := s.JetStream().Stream(ctx, events.StreamEvents)
	if err != nil {
		t.Fatalf("stream EVENTS: %v", err)
	}
	msg, err := stream.GetMsg(ctx, seq)
	if err != nil {
		t.Fatalf("get EVENTS message %d: %v", seq, err)
	}
	if want := events.EventSubject(events.TypeSignaal, "politie"); msg.Subject != want {
		t.Errorf("NATS subject = %q, want %q", msg.Subject, want)
	}
	if strings.Contains(msg.Subject, bsn) {
		t.Errorf("NATS subject %q contains the BSN", msg.Subject)
	}
	for name, values := range msg.Header {
		for _, v := range values {
			if strings.Contains(name, bsn) || strings.Contains(v, bsn) {
				t.Errorf("NATS header %s: %s contains the BSN", name, v)
			}
		}
	}
	var ev struct {
		Subject string `json:"subject"`
	}
	if err := json.Unmarshal(msg.Data, &ev); err != nil {
		t.Fatalf("stored event is not JSON: %v", err)
	}
	if !hex64.MatchString(ev.Subject) {
		t.Errorf("stored subject = %q, want 64 lowercase hex characters", ev.Subject)
	}
	return ev.Subject
}

func TestStack(t *testing.T) {
	dataDir := t.TempDir()
	var logs logtest.Buffer

	// First start: a demo region with no secrets set generates them.
	s := start(t, dataDir, &logs)
	if len(s.Generated) == 0 {
		t.Fatal("first start generated no demo secrets")
	}
	if s.DemoEnvPath != filepath.Join(dataDir, devstack.DemoEnvFile) {
		t.Errorf("DemoEnvPath = %q", s.DemoEnvPath)
	}
	if fi, err := os.Stat(s.DemoEnvPath); err != nil {
		t.Fatalf("demo.env: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("demo.env mode = %v, want 0600", fi.Mode().Perm())
	}
	token := s.Secrets.Tokens["politie"]
	tokens := s.Secrets.Tokens
	key := s.Secrets.PseudonymKey

	status, body := post(t, s, token, signaal("signaal-0001", bsn))
	if status != http.StatusAccepted {
		t.Fatalf("POST signaal: status %d, body %s; want 202", status, body)
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil || a.ID != "signaal-0001" || a.Sequence != 1 {
		t.Fatalf("POST signaal: answer %s, want {\"id\":\"signaal-0001\",\"sequence\":1}", body)
	}
	first := stored(t, s, a.Sequence)
	pz, err := events.NewPseudonymizer(key)
	if err != nil {
		t.Fatal(err)
	}
	if first != pz.Pseudonym(bsn) {
		t.Errorf("stored subject is not the pseudonym of the BSN under the region key")
	}

	// Refusals are logged; they must not log the BSN or the token either.
	if status, _ := post(t, s, "not-a-token-"+bsn, signaal("signaal-x", bsn)); status != http.StatusUnauthorized {
		t.Errorf("bad token: status %d, want 401", status)
	}
	bad := strings.Replace(signaal("signaal-y", bsn), `"specversion"`, `"subject":"`+bsn+`","specversion"`, 1)
	if status, _ := post(t, s, token, bad); status != http.StatusBadRequest {
		t.Errorf("BSN as subject: status %d, want 400", status)
	}
	stop(t, s)

	// Second start on the same data dir: the same secrets, so the same
	// person has the same pseudonym.
	s2 := start(t, dataDir, &logs)
	if len(s2.Generated) != 0 {
		t.Errorf("restart generated %v, want the secrets of demo.env", s2.Generated)
	}
	for id, tok := range tokens {
		if s2.Secrets.Tokens[id] != tok {
			t.Errorf("token of %s changed on restart", id)
		}
	}
	if !bytes.Equal(s2.Secrets.PseudonymKey, key) {
		t.Error("pseudonym key changed on restart")
	}
	status, body = post(t, s2, token, signaal("signaal-0002", bsn))
	if status != http.StatusAccepted {
		t.Fatalf("POST after restart: status %d, body %s; want 202", status, body)
	}
	if err := json.Unmarshal(body, &a); err != nil || a.Sequence != 2 {
		t.Fatalf("POST after restart: answer %s, want sequence 2", body)
	}
	if second := stored(t, s2, a.Sequence); second != first {
		t.Errorf("pseudonym after restart = %s, want %s (same BSN, same key)", second, first)
	}
	stop(t, s2)

	out := logs.String()
	if !strings.Contains(out, "gateway listening") {
		t.Errorf("log output is missing, got:\n%s", out)
	}
	if strings.Contains(out, bsn) {
		t.Errorf("the BSN appears in the log:\n%s", out)
	}
	for id, tok := range tokens {
		if strings.Contains(out, tok) {
			t.Errorf("the token of %s appears in the log", id)
		}
	}
	envFile, err := os.ReadFile(filepath.Join(dataDir, devstack.DemoEnvFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(envFile)), "\n") {
		if _, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") && strings.Contains(out, v) {
			t.Errorf("a secret of demo.env appears in the log: %s", strings.SplitN(line, "=", 2)[0])
		}
	}
}

// samenloopReceived matches the log line of a demo sink that received a
// samenloop event, capturing the partner.
var samenloopReceived = regexp.MustCompile(`msg="demo sink received" .*\bpartner=(\S+) type=` + regexp.QuoteMeta(events.TypeSamenloop) + ` `)

// TestSamenloop: politie and ggz signal the same BSN through the gateway;
// the samenloop service tells ggz (it joins), politie (already involved)
// and zvh (the regievoerder of the demo region), each at its demo sink,
// and nobody else.
func TestSamenloop(t *testing.T) {
	t.Parallel()
	var logs logtest.Buffer
	s := start(t, t.TempDir(), &logs)
	for _, p := range []struct{ partner, source, id string }{
		{"politie", politieSource, "signaal-politie"},
		{"ggz", ggzSource, "signaal-ggz"},
	} {
		if status, body := post(t, s, s.Secrets.Tokens[p.partner], signaalFrom(p.source, p.id, bsn)); status != http.StatusAccepted {
			t.Fatalf("POST signaal of %s: status %d, body %s; want 202", p.partner, status, body)
		}
	}

	want := []string{"ggz", "politie", "zvh"}
	received := func() []string {
		var got []string
		for _, m := range samenloopReceived.FindAllStringSubmatch(logs.String(), -1) {
			got = append(got, m[1])
		}
		slices.Sort(got)
		return got
	}
	for deadline := time.Now().Add(30 * time.Second); !slices.Equal(received(), want); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("samenloop events received by the demo sinks of %v, want %v; log:\n%s", received(), want, logs.String())
		}
	}
	time.Sleep(300 * time.Millisecond) // an extra or a double would show up now
	if got := received(); !slices.Equal(got, want) {
		t.Errorf("samenloop events received by the demo sinks of %v, want one each for %v", got, want)
	}
	stop(t, s)

	out := logs.String()
	if strings.Contains(out, bsn) {
		t.Errorf("the BSN appears in the log:\n%s", out)
	}
	if pz, err := events.NewPseudonymizer(s.Secrets.PseudonymKey); err != nil {
		t.Fatal(err)
	} else if strings.Contains(out, pz.Pseudonym(bsn)) {
		t.Errorf("the whole pseudonym appears in the log:\n%s", out)
	}
	for id, tok := range s.Secrets.Tokens {
		if strings.Contains(out, tok) {
			t.Errorf("the token of %s appears in the log", id)
		}
	}
}

func TestStartEnvironmentWinsOverDemoEnv(t *testing.T) {
	t.Parallel()
	const token = "token-of-politie-from-the-environment"
	env := func(name string) string {
		if name == "KETENBUS_TOKEN_POLITIE" {
			return token
		}
		return ""
	}
	dataDir := t.TempDir()
	s := start(t, dataDir, io.Discard, func(o *devstack.Options) { o.Getenv = env })
	if got := s.Secrets.Tokens["politie"]; got != token {
		t.Errorf("politie token = %q, want the environment's", got)
	}
	b, err := os.ReadFile(s.DemoEnvPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "export KETENBUS_TOKEN_POLITIE="+token+"\n") {
		t.Errorf("demo.env does not hold the politie token:\n%s", b)
	}
}

func TestStartAddrInUse(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	for _, tc := range []struct {
		part string
		opts func(*devstack.Options)
	}{
		{devstack.PartNATS, func(o *devstack.Options) { o.NATSAddr = taken.Addr().String() }},
		{devstack.PartGateway, func(o *devstack.Options) { o.GatewayAddr = taken.Addr().String() }},
		{devstack.PartSinks, func(o *devstack.Options) { o.SinkAddr = taken.Addr().String() }},
	} {
		t.Run(tc.part, func(t *testing.T) {
			o := devstack.Options{
				ConfigPath:  regionFile,
				DataDir:     t.TempDir(),
				GatewayAddr: "127.0.0.1:0",
				NATSAddr:    "127.0.0.1:0",
				SinkAddr:    "127.0.0.1:0",
				Logger:      slog.New(slog.DiscardHandler),
				Getenv:      noEnv,
			}
			tc.opts(&o)
			s, err := devstack.Start(context.Background(), o)
			if err == nil {
				stop(t, s)
				t.Fatal("Start on a taken address succeeded")
			}
			var inUse *devstack.AddrInUseError
			if !errors.Is(err, devstack.ErrAddrInUse) || !errors.As(err, &inUse) {
				t.Fatalf("error %v, want an AddrInUseError", err)
			}
			if inUse.Part != tc.part || inUse.Addr != taken.Addr().String() {
				t.Errorf("AddrInUseError{Part: %q, Addr: %q}, want %q, %q", inUse.Part, inUse.Addr, tc.part, taken.Addr())
			}
		})
	}
}

func TestStartNonDemoNeedsSecrets(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(regionFile)
	if err != nil {
		t.Fatal(err)
	}
	prod := strings.Replace(string(b), "\ndemo: true\n", "\ndemo: false\n", 1)
	if prod == string(b) {
		t.Fatal("the demo region has no 'demo: true' line")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "region.yaml")
	if err := os.WriteFile(cfg, []byte(prod), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	s, err := devstack.Start(context.Background(), devstack.Options{
		ConfigPath: cfg, DataDir: dataDir, GatewayAddr: "127.0.0.1:0", NATSAddr: "127.0.0.1:0", SinkAddr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler), Getenv: noEnv,
	})
	if err == nil {
		stop(t, s)
		t.Fatal("Start without secrets in a non-demo region succeeded")
	}
	var problems *region.ProblemsError
	if !errors.As(err, &problems) || !strings.Contains(err.Error(), "KETENBUS_PSEUDONYM_KEY is not set") {
		t.Errorf("error %v, want a ProblemsError naming KETENBUS_PSEUDONYM_KEY", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, devstack.DemoEnvFile)); !os.IsNotExist(err) {
		t.Errorf("a non-demo region wrote demo.env (stat: %v)", err)
	}
}

func TestSuggestAddr(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	got := devstack.SuggestAddr(taken.Addr().String())
	if got == taken.Addr().String() {
		t.Fatalf("SuggestAddr returned the taken address %s", got)
	}
	ln, err := net.Listen("tcp", got)
	if err != nil {
		t.Fatalf("suggested address %s is not free: %v", got, err)
	}
	ln.Close()
}
