package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// portSpan is how many ports from its base deploy/local uses.
const portSpan = 56

// localRegion is a demo region (plain-HTTP webhooks) whose zvh receives
// every signaal at the sink "{sink}"; it names no monitor sign-in, so
// local.sh gives the monitor an operator token.
var localRegion = e2etest.MustRead("testdata/local.yaml")

// local runs deploy/local/local.sh with args in the run directory dir and
// the port base, and returns its exit code and output.
type local struct {
	script, dir string
	base        int
}

func (l local) run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.script, args...)
	cmd.Env = append(os.Environ(), "KETENBUS_LOCAL_DIR="+l.dir, "KETENBUS_LOCAL_PORT_BASE="+strconv.Itoa(l.base))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("local.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return 0, string(out)
}

func (l local) must(t *testing.T, args ...string) string {
	t.Helper()
	code, out := l.run(t, args...)
	if code != 0 {
		t.Fatalf("local.sh %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// TestLocal brings deploy/local up with a region of its own, delivers an
// event to a real webhook sink, kills the adapter and starts it again by
// name (an event posted meanwhile arrives), and brings it down: every
// process it recorded is gone.
func TestLocal(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not installed: deploy/local runs Debian's redis-server (sudo apt-get install redis-server; .ci/run installs it)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l := local{script: filepath.Join(root, "deploy/local/local.sh"), dir: filepath.Join(dir, "run"), base: freeBase(t)}

	sink := newSink()
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	cfg := filepath.Join(dir, "region.yaml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(localRegion, "{sink}", srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}

	// Whatever happens, nothing is left running.
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(l.dir, "local.conf")); err == nil {
			l.run(t, "down")
		}
	})
	start := time.Now()
	out := l.must(t, "up", "--config", cfg)
	t.Logf("up took %s", time.Since(start).Round(time.Second))

	env := readEnv(t, filepath.Join(l.dir, "local.env"))
	for _, name := range []string{"KETENBUS_TOKEN_POLITIE", "KETENBUS_WEBHOOK_SECRET_ZVH", "KETENBUS_MONITOR_TOKEN",
		"KETENBUS_JETSTREAM_KEY", "KETENBUS_REDIS_PASSWORD", "KETENBUS_NATS_PASSWORD_ADMIN", "KETENBUS_NATS_PASSWORD_GATEWAY", "KETENBUS_NATS_PASSWORD_ADAPTER"} {
		if env[name] == "" {
			t.Errorf("local.env has no %s", name)
		}
	}
	names := strings.Fields(l.must(t, "names"))
	want := []string{"nats-1", "nats-2", "nats-3", "redis", "gateway", "router", "adapter", "escalator", "samenloop", "monitor"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("names %v, want %v", names, want)
	}
	status := l.must(t, "status") // exit 0: all alive and ready
	for _, name := range want {
		if !matches(`(?m)^`+name+`\s+\d+\s+alive\s+127\.0\.0\.1:\d+\s+ready`, status) {
			t.Errorf("status has no line saying %s is alive and ready:\n%s", name, status)
		}
	}
	// The same secrets on a second up, which starts nothing new.
	again := l.must(t, "up", "--config", cfg)
	for _, name := range want {
		if !strings.Contains(again, name+" already runs") {
			t.Errorf("a second up does not say %s already runs:\n%s", name, again)
		}
	}
	if after := readEnv(t, filepath.Join(l.dir, "local.env")); after["KETENBUS_TOKEN_POLITIE"] != env["KETENBUS_TOKEN_POLITIE"] {
		t.Error("a second up changed the secrets")
	}
	for name, v := range env {
		if strings.Contains(out+again+status, v) {
			t.Errorf("local.sh printed the value of %s", name)
		}
	}
	sink.setSecret(env["KETENBUS_WEBHOOK_SECRET_ZVH"])
	gateway := "http://" + strings.TrimSpace(l.must(t, "addr", "gateway"))

	post(t, gateway, env["KETENBUS_TOKEN_POLITIE"], "local-1")
	sink.wait(t, "local-1")

	// The adapter killed: an event posted meanwhile waits in DELIVERY and
	// arrives once it is started again.
	adapterPID := pids(t, l.dir)["adapter"]
	l.must(t, "kill", "adapter")
	if alive(adapterPID) {
		t.Fatalf("the adapter (pid %d) still runs after kill", adapterPID)
	}
	if code, st := l.run(t, "status", "adapter"); code != 3 || !matches(`(?m)^adapter\s+-\s+stopped`, st) {
		t.Errorf("status adapter after kill: exit %d, want 3 and stopped:\n%s", code, st)
	}
	post(t, gateway, env["KETENBUS_TOKEN_POLITIE"], "local-2")
	l.must(t, "start", "adapter")
	sink.wait(t, "local-2")
	if pids(t, l.dir)["adapter"] == adapterPID {
		t.Error("start adapter recorded the PID of the killed process")
	}

	recorded := pids(t, l.dir)
	if len(recorded) != len(want) {
		t.Errorf("%d PIDs recorded, want %d: %v", len(recorded), len(want), recorded)
	}
	l.must(t, "down")
	for name, pid := range recorded {
		if alive(pid) {
			t.Errorf("%s (pid %d) still runs after down", name, pid)
		}
	}
	if left := pids(t, l.dir); len(left) > 0 {
		t.Errorf("PID files left after down: %v", left)
	}
	if code, st := l.run(t, "status"); code != 3 || strings.Contains(st, " alive ") {
		t.Errorf("status after down: exit %d, want 3 and nothing alive:\n%s", code, st)
	}
	t.Logf("the whole run took %s", time.Since(start).Round(time.Second))
}

func matches(pattern, s string) bool {
	return regexp.MustCompile(pattern).MatchString(s)
}

// freeBase returns a port base with every port of deploy/local free.
func freeBase(t *testing.T) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.IntN(40000)
		free := true
		for p := base; p < base+portSpan && free; p++ {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				continue
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no base with 56 free ports from 20000 to 60000")
	return 0
}

// pids reads the PID files of the run directory.
func pids(t *testing.T, dir string) map[string]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.Fields(string(b))[0])
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
	}
	return m
}

// alive reports whether pid runs: it exists and is not a zombie (an
// exited process whose parent, not this test, has yet to reap it).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	rest := s[strings.LastIndexByte(s, ')')+1:]
	state := strings.Fields(rest)[0]
	return state != "Z" && state != "X"
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && !strings.HasPrefix(line, "#") {
			vals[name] = strings.Trim(v, "'")
		}
	}
	return vals
}

// post sends a signaal of politie and wants 202.
func post(t *testing.T, gateway, token, id string) {
	t.Helper()
	e2etest.Post(t, gateway+"/v1/events", token, e2etest.Event(id, e2etest.SourcePolitie, events.TypeSignaal, map[string]any{
		"bsn": "111222333", "categorie": "verward-gedrag", "urgentie": "hoog", "contactpersoon": map[string]any{"naam": "A. de Boer"},
	}))
}

// sink is zvh's webhook endpoint: the partner SDK's receiver, which
// checks the Standard Webhooks signature with the secret of local.env.
type sink struct {
	mu       sync.Mutex
	receiver http.Handler // nil until the secret is known: 503
	got      map[string]bool
	arrived  chan struct{}
}

func newSink() *sink { return &sink{got: map[string]bool{}, arrived: make(chan struct{}, 100)} }

func (s *sink) setSecret(secret string) {
	r, err := partner.NewReceiver(partner.ReceiverConfig{
		Secrets:     []string{secret},
		Idempotency: partner.NewMemoryStore(0, 0),
		Handler: func(_ context.Context, e cloudevents.Event) error {
			s.mu.Lock()
			s.got[e.ID()] = true
			s.mu.Unlock()
			select {
			case s.arrived <- struct{}{}:
			default:
			}
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	s.receiver = r
	s.mu.Unlock()
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.receiver
	s.mu.Unlock()
	if h == nil || !strings.HasPrefix(r.URL.Path, "/zvh") {
		http.Error(w, "not yet", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

func (s *sink) wait(t *testing.T, id string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		s.mu.Lock()
		ok := s.got[id]
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.arrived:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s was not delivered to the zvh sink within 60s", id)
		}
	}
}
