package devstack_test

import (
	"bytes"
	"context"
	"encoding/base64"
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

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/filetest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
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

// options are those of the demo region on free ports with dataDir,
// logging everything into logs, without an environment.
func options(dataDir string, logs io.Writer) devstack.Options {
	return devstack.Options{
		ConfigPath:  regionFile,
		DataDir:     dataDir,
		GatewayAddr: "127.0.0.1:0",
		NATSAddr:    "127.0.0.1:0",
		SinkAddr:    "127.0.0.1:0",
		MonitorAddr: "127.0.0.1:0",
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv:      noEnv,
	}
}

// start starts the stack with options(dataDir, logs) changed by opts, and
// closes it when the test ends.
func start(t *testing.T, dataDir string, logs io.Writer, opts ...func(*devstack.Options)) *devstack.Stack {
	t.Helper()
	o := options(dataDir, logs)
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

// startFails starts the stack with o, fails the test when it starts
// (with what, the case), and returns the error.
func startFails(t *testing.T, o devstack.Options, what string) error {
	t.Helper()
	s, err := devstack.Start(context.Background(), o)
	if err == nil {
		stop(t, s)
		t.Fatalf("Start %s succeeded", what)
	}
	return err
}

// nonDemoRegion writes the demo region with demo: false to dir and
// returns its path and the demo region's text.
func nonDemoRegion(t *testing.T, dir string) (path string, demo []byte) {
	t.Helper()
	b, err := os.ReadFile(regionFile)
	if err != nil {
		t.Fatal(err)
	}
	prod := strings.Replace(string(b), "\ndemo: true\n", "\ndemo: false\n", 1)
	if prod == string(b) {
		t.Fatal("the demo region has no 'demo: true' line")
	}
	path = filepath.Join(dir, "region.yaml")
	if err := os.WriteFile(path, []byte(prod), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, b
}

// withJetStreamKey returns o with an environment that holds key as the
// JetStream key and reads every other variable from getenv.
func withJetStreamKey(o devstack.Options, key string, getenv func(string) string) devstack.Options {
	o.Getenv = func(name string) string {
		if name == devstack.JetStreamKeyEnv {
			return key
		}
		return getenv(name)
	}
	return o
}

// takenAddr returns an address a listener holds until the test ends.
func takenAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().String()
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
	msg := eventsMessage(t, s, seq)
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
	// The NATS-native partner's consumer is there for it to pull from.
	if c, err := s.JetStream().Consumer(context.Background(), events.StreamDelivery, bus.PartnerConsumer("woningcorporatie")); err != nil ||
		c.CachedInfo().Config.FilterSubject != events.DeliverySubject("woningcorporatie") {
		t.Errorf("woningcorporatie's consumer: %v", err)
	}
	if s.DemoEnvPath != filepath.Join(dataDir, devstack.DemoEnvFile) {
		t.Errorf("DemoEnvPath = %q", s.DemoEnvPath)
	}
	if fi, err := os.Stat(s.DemoEnvPath); err != nil {
		t.Fatalf("demo.env: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("demo.env mode = %v, want 0600", fi.Mode().Perm())
	}
	if !slices.Contains(s.Generated, devstack.JetStreamKeyEnv) {
		t.Errorf("first start generated %v, want %s among them", s.Generated, devstack.JetStreamKeyEnv)
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
	if jsKey := demoEnv(t, dataDir)[devstack.JetStreamKeyEnv]; !base64Key32(jsKey) {
		t.Errorf("demo.env: %s is not 32 bytes in standard base64", devstack.JetStreamKeyEnv)
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
	taken := takenAddr(t)
	for _, tc := range []struct {
		part string
		opts func(*devstack.Options)
	}{
		{devstack.PartNATS, func(o *devstack.Options) { o.NATSAddr = taken }},
		{devstack.PartGateway, func(o *devstack.Options) { o.GatewayAddr = taken }},
		{devstack.PartSinks, func(o *devstack.Options) { o.SinkAddr = taken }},
		{devstack.PartMonitor, func(o *devstack.Options) { o.MonitorAddr = taken }},
	} {
		t.Run(tc.part, func(t *testing.T) {
			o := options(t.TempDir(), io.Discard)
			tc.opts(&o)
			err := startFails(t, o, "on a taken address")
			var inUse *devstack.AddrInUseError
			if !errors.Is(err, devstack.ErrAddrInUse) || !errors.As(err, &inUse) {
				t.Fatalf("error %v, want an AddrInUseError", err)
			}
			if inUse.Part != tc.part || inUse.Addr != taken {
				t.Errorf("AddrInUseError{Part: %q, Addr: %q}, want %q, %q", inUse.Part, inUse.Addr, tc.part, taken)
			}
		})
	}
}

func TestStartNonDemoNeedsSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	o := options(dataDir, io.Discard)
	o.ConfigPath, _ = nonDemoRegion(t, dir)
	err := startFails(t, o, "without secrets in a non-demo region")
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
	taken := takenAddr(t)
	got := devstack.SuggestAddr(taken)
	if got == taken {
		t.Fatalf("SuggestAddr returned the taken address %s", got)
	}
	ln, err := net.Listen("tcp", got)
	if err != nil {
		t.Fatalf("suggested address %s is not free: %v", got, err)
	}
	ln.Close()
}

// demoEnv reads the values of dataDir/demo.env, which must hold some.
func demoEnv(t *testing.T, dataDir string) map[string]string {
	t.Helper()
	vals, err := devstack.ReadEnvFile(filepath.Join(dataDir, devstack.DemoEnvFile))
	if err != nil || len(vals) == 0 {
		t.Fatalf("%s: %v, %d values", devstack.DemoEnvFile, err, len(vals))
	}
	return vals
}

func base64Key32(v string) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	return err == nil && len(b) == 32
}

// signaalWith is a signaal of politie with a toelichting: a data field the
// gateway does not encrypt, so it is stored in JetStream as sent.
func signaalWith(id, bsn, toelichting string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":%q,"type":"nl.sociaaldomein.signaal.v1",
		"datacontenttype":"application/json","data":{"bsn":%q,"categorie":"overlast",
		"urgentie":"midden","toelichting":%q,"contactpersoon":{"naam":"A. de Boer"}}}`, id, politieSource, bsn, toelichting)
}

// eventsMessage returns the EVENTS message at seq, as the JetStream API
// returns it (decrypted by the server).
func eventsMessage(t *testing.T, s *devstack.Stack, seq uint64) *jetstream.RawStreamMsg {
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
	return msg
}

// TestStoreEncryptedAtRest: an event posted through the gateway is stored
// with its toelichting as sent (the JetStream API returns it), survives a
// restart that reads the JetStream key back from demo.env, and no file
// under the data dir holds the toelichting or the BSN in clear.
func TestStoreEncryptedAtRest(t *testing.T) {
	t.Parallel()
	const toelichting = "Buurman-meldt-zorgen-over-geluidsoverlast-ZX81-toelichting"
	dataDir := t.TempDir()
	var logs logtest.Buffer
	s := start(t, dataDir, &logs)
	status, body := post(t, s, s.Secrets.Tokens["politie"], signaalWith("signaal-encrypted", bsn, toelichting))
	if status != http.StatusAccepted {
		t.Fatalf("POST signaal: status %d, body %s; want 202", status, body)
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil || a.Sequence == 0 {
		t.Fatalf("POST signaal: answer %s", body)
	}
	if data := eventsMessage(t, s, a.Sequence).Data; !bytes.Contains(data, []byte(toelichting)) {
		t.Fatalf("EVENTS message %d does not hold the toelichting; the check below would prove nothing", a.Sequence)
	}
	stop(t, s)

	// The key was kept: a restart reads the same message.
	s2 := start(t, dataDir, &logs)
	if slices.Contains(s2.Generated, devstack.JetStreamKeyEnv) {
		t.Errorf("restart generated a new %s", devstack.JetStreamKeyEnv)
	}
	if data := eventsMessage(t, s2, a.Sequence).Data; !bytes.Contains(data, []byte(toelichting)) {
		t.Errorf("after restart EVENTS message %d does not hold the toelichting", a.Sequence)
	}
	stop(t, s2)

	for _, secret := range []string{toelichting, bsn} {
		if found, files := filetest.Containing(t, dataDir, secret); files == 0 {
			t.Fatal("the data dir holds no files")
		} else if len(found) > 0 {
			t.Errorf("readable in clear in %v", found)
		}
	}
	if strings.Contains(logs.String(), demoEnv(t, dataDir)[devstack.JetStreamKeyEnv]) {
		t.Errorf("the JetStream key appears in the log")
	}
}

// TestStartNonDemoNeedsJetStreamKey: outside a demo region the JetStream
// key must be set; the error names the variable and how to make one,
// never the value; with a key set the stack starts.
func TestStartNonDemoNeedsJetStreamKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, b := nonDemoRegion(t, dir)
	// Every secret of the region, as an operator would set them.
	demo, err := region.Parse("region.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	_, env, err := demo.ResolveSecrets(noEnv)
	if err != nil {
		t.Fatal(err)
	}
	withKey := func(key string) devstack.Options {
		o := withJetStreamKey(options(filepath.Join(dir, "data"), io.Discard), key, func(name string) string { return env[name] })
		o.ConfigPath = cfg
		return o
	}
	for _, tc := range []struct{ name, key, want string }{
		{"missing", "", "environment variable KETENBUS_JETSTREAM_KEY is not set"},
		{"not base64", "not-base64-but-long-enough-to-look-like-a-key!", "KETENBUS_JETSTREAM_KEY is not standard base64"},
		{"too short", base64.StdEncoding.EncodeToString([]byte("sixteen byte key")), "KETENBUS_JETSTREAM_KEY holds 16 bytes, not 32"},
	} {
		err := startFails(t, withKey(tc.key), "with a "+tc.name+" key")
		if !errors.Is(err, devstack.ErrJetStreamKey) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
			t.Errorf("%s key: error %q, want ErrJetStreamKey saying %q and how to make a key", tc.name, err, tc.want)
		}
		if tc.key != "" && strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s key: the error shows the value", tc.name)
		}
	}
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	s, err := devstack.Start(context.Background(), withKey(key))
	if err != nil {
		t.Fatalf("Start with every secret and a JetStream key: %v", err)
	}
	if len(s.Generated) != 0 || s.DemoEnvPath != "" {
		t.Errorf("a non-demo region generated %v / wrote %q", s.Generated, s.DemoEnvPath)
	}
	stop(t, s)
}

// TestStartWithAnotherJetStreamKey: a store written with one key does not
// open with another; the error says which variable and what to do.
func TestStartWithAnotherJetStreamKey(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := start(t, dataDir, io.Discard)
	if status, body := post(t, s, s.Secrets.Tokens["politie"], signaal("signaal-other-key", bsn)); status != http.StatusAccepted {
		t.Fatalf("POST signaal: status %d, body %s; want 202", status, body)
	}
	stop(t, s)

	other := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	err := startFails(t, withJetStreamKey(options(dataDir, io.Discard), other, noEnv), "with another JetStream key")
	if !strings.Contains(err.Error(), devstack.JetStreamKeyEnv) || !strings.Contains(err.Error(), "delete the directory") {
		t.Errorf("error %q, want it to name %s and say what to do", err, devstack.JetStreamKeyEnv)
	}
	if strings.Contains(err.Error(), other) {
		t.Error("the error shows the key")
	}
}

// TestSinkLogRedactsBSNInEventID: a partner puts a BSN in an event id; the
// demo sinks log the event with the BSN replaced, like every other log
// line of the stack.
func TestSinkLogRedactsBSNInEventID(t *testing.T) {
	t.Parallel()
	var logs logtest.Buffer
	s := start(t, t.TempDir(), &logs)
	inID := bsntest.Seeded(7, 1)[0]
	if status, body := post(t, s, s.Secrets.Tokens["politie"], signaal("signaal-"+inID, bsn)); status != http.StatusAccepted {
		t.Fatalf("POST: status %d, body %s", status, body)
	}
	received := regexp.MustCompile(`msg="demo sink received" .*\bpartner=zvh type=` + regexp.QuoteMeta(events.TypeSignaal) + ` id=signaal-\[bsn\] `)
	for deadline := time.Now().Add(30 * time.Second); !received.MatchString(logs.String()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no demo sink line for the signaal with its id redacted; log:\n%s", logs.String())
		}
	}
	if strings.Contains(logs.String(), inID) {
		t.Errorf("the log holds the BSN of the event id:\n%s", logs.String())
	}
}

// TestMonitorOpenWithEveryServiceMetrics: the demo region names no way to
// sign in, so the stack's monitor, which its binary would refuse to
// start, runs open, and once an event came in its /metrics holds the
// metrics of every service.
func TestMonitorOpenWithEveryServiceMetrics(t *testing.T) {
	t.Parallel()
	s := start(t, t.TempDir(), io.Discard)
	if !s.MonitorOpen {
		t.Error("MonitorOpen is false for a region without monitor.token_env or monitor.trusted_header")
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(s.MonitorURL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/"); code != http.StatusOK {
		t.Errorf("GET / without sign-in = %d, want 200", code)
	}
	if status, body := post(t, s, s.Secrets.Tokens["politie"], signaal("signaal-metrics", bsn)); status != http.StatusAccepted {
		t.Fatalf("POST signaal: status %d, body %s; want 202", status, body)
	}
	_, metrics := get("/metrics")
	for _, name := range []string{"ketenbus_gateway_", "ketenbus_router_", "ketenbus_adapter_", "ketenbus_escalator_", "ketenbus_samenloop_", "go_goroutines"} {
		if !strings.Contains(metrics, "\n"+name) {
			t.Errorf("the monitor's /metrics has no %s…", name)
		}
	}
}
