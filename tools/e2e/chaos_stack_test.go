//go:build stress

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
)

const politieSource = "urn:nld:oin:00000009999999990004:systeem:bvh"

// chaosRegion is the suite's region: politie publishes signalen and
// aanmeldingen at the load's rate; ggz, wijkteam, veilig-thuis and zvh
// receive every signaal and the aanmeldingen referred to them by webhook
// (at the sinks, %[1]s… their URLs), zvh also the escalaties of the first
// ladder level. The retry schedule is short so a partner back after a
// minute gets its deliveries within seconds, and long enough in all that
// nothing reaches the DLQ from being down.
const chaosRegion = `region: chaos
demo: true
source: "urn:nld:oin:00000009999999990000:systeem:ketenbus"
pseudonym_key_env: KETENBUS_PSEUDONYM_KEY
encryption_key_env: KETENBUS_FIELD_KEY
partners:
  - id: politie
    name: Politie Chaosregio
    sources: ["` + politieSource + `"]
    token_env: KETENBUS_TOKEN_POLITIE
    publishes: [nl.sociaaldomein.signaal.v1, nl.sociaaldomein.aanmelding.v1]
    rate_limit: {per_second: 5000, burst: 20000}
%[1]sescalation:
  ladder:
    - {level: 1, after_working_days: 0, to: [zvh]}
samenloop: {window_days: 730, regievoerder: zvh}
`

// chaosPartner is one receiving partner of chaosRegion.
const chaosPartner = `  - id: %[1]s
    name: Chaos %[1]s
    sources: ["urn:nld:kvknr:999999%02[3]d:systeem:%[1]s"]
    token_env: KETENBUS_TOKEN_%[4]s
    subscriptions:
      - name: signalen
        types: [nl.sociaaldomein.signaal.v1]
        purpose: "urn:nld:chaos:verwerkingsactiviteit:signalen"
        fields: [categorie, urgentie]
      - name: aanmeldingen
        types: [nl.sociaaldomein.aanmelding.v1]
        filter: "ontvanger = '%[1]s'"
        purpose: "urn:nld:chaos:verwerkingsactiviteit:aanmeldingen"
        fields: [ontvanger, reden]
%[5]s    delivery:
      webhook:
        url: %[2]s
        secret_env: KETENBUS_WEBHOOK_SECRET_%[4]s
        timeout: 5s
        retry_schedule: [1s, 2s, 5s, 10s, 20s, 30s, 1m, 2m, 5m, 10m, 30m, 1h]
`

const escalatieSubscription = `      - name: escalaties
        types: [nl.sociaaldomein.escalatie.v1]
        filter: "ontvanger = '%s'"
        purpose: "urn:nld:chaos:verwerkingsactiviteit:escalaties"
`

// envName is how the region names a partner's variables.
func envName(p string) string { return strings.ToUpper(strings.ReplaceAll(p, "-", "_")) }

// stack is deploy/local run for the suite, and an admin connection to its
// NATS cluster.
type stack struct {
	t    *testing.T
	l    local
	vars map[string]string
	js   jetstream.JetStream
	cfg  string // the region config
}

// upStack writes the suite's region with the sinks' URLs, brings
// deploy/local up with it, and starts the sinks with their partners'
// secrets. Everything stops when the test ends.
func upStack(t *testing.T, sinks map[string]*chaosSink) *stack {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st := &stack{t: t, l: local{script: filepath.Join(root, "deploy/local/local.sh"), dir: filepath.Join(dir, "run"), base: freeBase(t)}}
	var parts strings.Builder
	for i, p := range receivers {
		extra := ""
		if p == escalatieSink {
			extra = fmt.Sprintf(escalatieSubscription, p)
		}
		fmt.Fprintf(&parts, chaosPartner, p, sinks[p].url(), i+1, envName(p), extra)
	}
	st.cfg = filepath.Join(dir, "region.yaml")
	if err := os.WriteFile(st.cfg, fmt.Appendf(nil, chaosRegion, parts.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(st.l.dir, "local.conf")); err == nil {
			st.l.run(t, "down")
		}
	})
	start := time.Now()
	st.l.must(t, "up", "--config", st.cfg)
	t.Logf("deploy/local up in %s (port base %d)", time.Since(start).Round(time.Second), st.l.base)
	st.vars = readEnv(t, filepath.Join(st.l.dir, "local.env"))
	for _, p := range receivers {
		if err := sinks[p].start(st.vars["KETENBUS_WEBHOOK_SECRET_"+envName(p)]); err != nil {
			t.Fatal(err)
		}
	}

	var urls []string
	for _, n := range []string{"nats-1", "nats-2", "nats-3"} {
		urls = append(urls, "nats://"+st.addr(n))
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.UserInfo("admin", st.vars["KETENBUS_NATS_PASSWORD_ADMIN"]),
		nats.CustomInboxPrefix(natsauth.InboxPrefix("admin")), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if st.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return st
}

func (st *stack) env(name string) string { return st.vars[name] }

// keepLogs copies the processes' logs to testoutput/chaos-logs at the
// repository root, since the run directory goes with the test.
func (st *stack) keepLogs() {
	root, err := filepath.Abs("../..")
	if err != nil {
		return
	}
	dst := filepath.Join(root, "testoutput", "chaos-logs")
	_ = os.RemoveAll(dst)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(st.l.dir, "logs"))); err != nil {
		st.t.Logf("logs not kept: %v", err)
	}
}

func (st *stack) addr(name string) string { return strings.TrimSpace(st.l.must(st.t, "addr", name)) }

func (st *stack) gatewayURL() string { return "http://" + st.addr("gateway") }

func (st *stack) kill(name string) error  { return st.do("kill", name) }
func (st *stack) start(name string) error { return st.do("start", name) }

func (st *stack) do(cmd, name string) error {
	if code, out := st.l.run(st.t, cmd, name); code != 0 {
		return fmt.Errorf("local.sh %s %s: exit %d\n%s", cmd, name, code, out)
	}
	return nil
}

// leader returns the name of the nats-server that leads stream.
func (st *stack) leader(ctx context.Context, stream string) (string, error) {
	for {
		s, err := st.js.Stream(ctx, stream)
		if err == nil {
			info, err := s.Info(ctx)
			if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
				return info.Cluster.Leader, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no leader of %s: %w", stream, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// dlqLetters counts the dead letters of partner.
func (st *stack) dlqLetters(ctx context.Context, partnerID string) (uint64, error) {
	s, err := st.js.Stream(ctx, events.StreamDLQ)
	if err != nil {
		return 0, err
	}
	subject := events.DLQSubject(partnerID)
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return 0, err
	}
	return info.State.Subjects[subject], nil
}

// ketenbus runs the ketenbus command deploy/local built, as the NATS
// admin, against the suite's region.
func (st *stack) ketenbus(ctx context.Context, args ...string) (string, error) {
	var urls []string
	for _, n := range []string{"nats-1", "nats-2", "nats-3"} {
		urls = append(urls, "nats://"+st.addr(n))
	}
	cmd := exec.CommandContext(ctx, filepath.Join(st.l.dir, "bin", "ketenbus"), args...)
	cmd.Env = append(os.Environ(), "KETENBUS_CONFIG="+st.cfg, "KETENBUS_NATS_URL="+strings.Join(urls, ","),
		"KETENBUS_NATS_USER=admin", "KETENBUS_NATS_PASSWORD_ADMIN="+st.vars["KETENBUS_NATS_PASSWORD_ADMIN"])
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ketenbus %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// usage is what a process used: CPU seconds since it started, and its
// peak resident memory.
type usage struct {
	name    string
	cpu     float64
	peakMiB float64
}

// usages reads the CPU time and peak RSS of every process of the stack
// and of this test (the load and the sinks), from /proc.
func (st *stack) usages() []usage {
	ticks := 100.0 // USER_HZ on Linux
	read := func(name, pid string) (usage, bool) {
		u := usage{name: name}
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return u, false
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(f) > 12 {
			ut, _ := strconv.ParseFloat(f[11], 64)
			stt, _ := strconv.ParseFloat(f[12], 64)
			u.cpu = (ut + stt) / ticks
		}
		status, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			return u, false
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				u.peakMiB = kb / 1024
			}
		}
		return u, true
	}
	var out []usage
	recorded := pids(st.t, st.l.dir)
	for _, name := range strings.Fields(st.l.must(st.t, "names")) {
		if pid, ok := recorded[name]; ok {
			if u, ok := read(name, strconv.Itoa(pid)); ok {
				out = append(out, u)
			}
		}
	}
	if u, ok := read("the suite (load and sinks)", "self"); ok {
		out = append(out, u)
	}
	return out
}
