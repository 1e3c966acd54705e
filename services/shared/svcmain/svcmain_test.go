package svcmain_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ketenbus/ketenbus/services/shared/httpserve"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
	"github.com/ketenbus/ketenbus/services/shared/svcmain/svcmaintest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

// probe is a service that asks JetStream for its account info at start,
// which needs a reply on the service's inbox, and then waits for ctx.
func probe(redis svcmain.RedisUse) svcmain.Service {
	return svcmain.Service{
		Name:        natsauth.UserRouter,
		MetricsAddr: "127.0.0.1:0",
		Redis:       redis,
		Start: func(ctx context.Context, env *svcmain.Env) (svcmain.Runner, error) {
			if _, err := env.JetStream.AccountInfo(ctx); err != nil {
				return nil, err
			}
			return svcmain.RunFunc(func(ctx context.Context) error {
				<-ctx.Done()
				return nil
			}), nil
		},
	}
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestRunsAndStopsCleanly(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	rs := redistest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	p := svcmaintest.Start(t, probe(svcmain.RedisRequired),
		[]string{"--config", reg.Path, "--nats-url", env.URL, "--redis-url", rs.URL()}, reg.Getenv)
	addr := p.WaitLog(t, "metrics listening")["addr"].(string)
	p.WaitLog(t, "started")
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := svcmaintest.Get(t, "http://"+addr+path); code != 200 || body != "ok\n" {
			t.Errorf("GET %s = %d %q, want 200 ok", path, code, body)
		}
	}
	_, body := svcmaintest.Get(t, "http://"+addr+"/metrics")
	svcmaintest.WantMetrics(t, body, "go_goroutines", "process_cpu_seconds_total")
	if code := p.Stop(t); code != svcmain.ExitOK {
		t.Fatalf("exit code %d after the context ended, want 0", code)
	}
	if !strings.Contains(p.Stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no stopped line in the log:\n%s", p.Stderr)
	}
	svcmaintest.NoSecrets(t, p.Stderr.String(), reg.Env)
}

// TestStartupErrors: each mistake an operator can make stops the main at
// once with exit code 1 and one line that says what to fix.
func TestStartupErrors(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	demo := svcmaintest.NewRegion(t, "demo: true\n"+svcmaintest.RegionText)
	without := func(r *svcmaintest.Region, names ...string) func(string) string {
		return func(name string) string {
			for _, n := range names {
				if n == name {
					return ""
				}
			}
			return r.Env[name]
		}
	}
	nowhere := closedAddr(t)
	tests := []struct {
		name   string
		args   []string
		getenv func(string) string
		redis  svcmain.RedisUse
		want   []string
	}{
		{"nats unreachable", []string{"--config", reg.Path, "--nats-url", "nats://" + nowhere}, reg.Getenv, svcmain.NoRedis,
			[]string{"connect to NATS at nats://" + nowhere, "--nats-url", "KETENBUS_NATS_URL"}},
		{"nats url with a password", []string{"--config", reg.Path, "--nats-url", "nats://router:hunter2secret@" + nowhere}, reg.Getenv, svcmain.NoRedis,
			[]string{"connect to NATS at nats://xxxxx@" + nowhere}},
		{"nats url that does not parse, with a password", []string{"--config", reg.Path, "--nats-url", "nats://router:hunter2secret%zz@" + nowhere}, reg.Getenv, svcmain.NoRedis,
			[]string{"--nats-url (a URL that does not parse): a URL does not parse", "KETENBUS_NATS_URL"}},
		{"redis url with a password", []string{"--config", reg.Path, "--nats-url", env.URL, "--redis-url", "redis://:hunter2secret@" + nowhere}, reg.Getenv, svcmain.RedisRequired,
			[]string{"connect to Redis at " + nowhere, "--redis-url"}},
		{"missing secret", []string{"--config", reg.Path, "--nats-url", env.URL}, without(reg, "KETENBUS_PSEUDONYM_KEY"), svcmain.NoRedis,
			[]string{"pseudonym_key_env", "environment variable KETENBUS_PSEUDONYM_KEY is not set"}},
		{"demo region without its secrets", []string{"--config", demo.Path, "--nats-url", env.URL}, without(demo, "KETENBUS_FIELD_KEY", "KETENBUS_TOKEN_ZVH"), svcmain.NoRedis,
			[]string{"environment variables not set: KETENBUS_FIELD_KEY, KETENBUS_TOKEN_ZVH", "ketenbus dev"}},
		{"no config", []string{"--nats-url", env.URL}, reg.Getenv, svcmain.NoRedis,
			[]string{"no region config: pass --config or set KETENBUS_CONFIG"}},
		{"config missing", []string{"--config", reg.Path + ".nope", "--nats-url", env.URL}, reg.Getenv, svcmain.NoRedis,
			[]string{"region.yaml.nope", "pass --config or set KETENBUS_CONFIG"}},
		{"redis unreachable", []string{"--config", reg.Path, "--nats-url", env.URL, "--redis-url", "redis://" + nowhere}, reg.Getenv, svcmain.RedisRequired,
			[]string{"connect to Redis at " + nowhere, "--redis-url", "KETENBUS_REDIS_URL"}},
		{"metrics address taken", []string{"--config", reg.Path, "--nats-url", env.URL, "--metrics-addr", env.Server.Addr().String()}, reg.Getenv, svcmain.NoRedis,
			[]string{"listen on " + env.Server.Addr().String(), "--metrics-addr", "KETENBUS_METRICS_ADDR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, code := svcmaintest.Run(t, probe(tt.redis), tt.args, tt.getenv)
			if code != svcmain.ExitError {
				t.Fatalf("exit code %d, want %d", code, svcmain.ExitError)
			}
			out := p.Stderr.String()
			var plain []string // what is not a JSON log line
			for line := range strings.Lines(out) {
				if !strings.HasPrefix(line, "{") {
					plain = append(plain, line)
				}
			}
			if len(plain) != 1 || !strings.HasPrefix(plain[0], "ketenbus-router: ") {
				t.Errorf("stderr has no single error line starting with the program:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stderr does not say %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "hunter2secret") {
				t.Errorf("stderr shows the password of the URL:\n%s", out)
			}
			svcmaintest.NoSecrets(t, out, reg.Env)
		})
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	p, code := svcmaintest.Run(t, probe(svcmain.RedisRequired), []string{"-h"}, func(string) string { return "" })
	if code != svcmain.ExitOK {
		t.Errorf("-h: exit code %d, want 0", code)
	}
	for _, flag := range []string{"-config", "KETENBUS_CONFIG", "-nats-url", "-nats-user", "-nats-creds", "-redis-url", "-metrics-addr", "-log-level"} {
		if !strings.Contains(p.Stdout.String(), flag) {
			t.Errorf("-h does not mention %s:\n%s", flag, p.Stdout)
		}
	}
	// Help and a wrong flag show the built-in defaults, never a value of
	// the environment: it may hold a password.
	secretEnv := map[string]string{"KETENBUS_REDIS_URL": "redis://:s3cret@redis:6379", "KETENBUS_NATS_URL": "nats://router:s3cret@nats:4222"}
	getenv := func(k string) string { return secretEnv[k] }
	for _, args := range [][]string{{"-h"}, {"--no-such-flag"}} {
		p, _ := svcmaintest.Run(t, probe(svcmain.RedisRequired), args, getenv)
		if out := p.Stdout.String() + p.Stderr.String(); strings.Contains(out, "s3cret") {
			t.Errorf("%q shows a password from the environment:\n%s", args, out)
		}
	}
	// A URL pasted without its flag is named, without its password.
	p, _ = svcmaintest.Run(t, probe(svcmain.NoRedis), []string{"nats://router:s3cret@nats:4222"}, getenv)
	if out := p.Stderr.String(); strings.Contains(out, "s3cret") || !strings.Contains(out, "unexpected argument") {
		t.Errorf("a stray URL argument: %s", out)
	}
	for _, args := range [][]string{{"--no-such-flag"}, {"extra"}, {"--log-level", "loud"}} {
		if _, code := svcmaintest.Run(t, probe(svcmain.NoRedis), args, func(string) string { return "" }); code != svcmain.ExitUsage {
			t.Errorf("%q: exit code %d, want %d", args, code, svcmain.ExitUsage)
		}
	}
}

// startAuthNATS starts nats-server with JetStream and one user, router,
// who may receive replies on its own inbox prefix only.
func startAuthNATS(t *testing.T, password string) string {
	t.Helper()
	s := natstest.Run(t, &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  t.TempDir(),
		Users: []*server.User{{
			Username: natsauth.UserRouter,
			Password: password,
			Permissions: &server.Permissions{
				Subscribe: &server.SubjectPermission{Allow: []string{natsauth.InboxPrefix(natsauth.UserRouter) + ".>"}},
			},
		}},
	})
	return s.ClientURL()
}

// TestNATSUser: the service connects as its natsauth user with the
// password of KETENBUS_NATS_PASSWORD_<USER> and receives its replies on
// its own inbox prefix; a wrong password is named, never shown.
func TestNATSUser(t *testing.T) {
	t.Parallel()
	const password = "pw-router-0123456789abcdef"
	url := startAuthNATS(t, password)
	reg := svcmaintest.NewRegion(t, "")
	reg.Env[natsauth.PasswordEnv(natsauth.UserRouter)] = password

	p := svcmaintest.Start(t, probe(svcmain.NoRedis), []string{"--config", reg.Path, "--nats-url", url}, reg.Getenv)
	p.WaitLog(t, "started") // AccountInfo got its reply on _INBOX_router
	if code := p.Stop(t); code != svcmain.ExitOK {
		t.Fatalf("exit code %d, want 0", code)
	}
	svcmaintest.NoSecrets(t, p.Stderr.String(), reg.Env)

	reg.Env[natsauth.PasswordEnv(natsauth.UserRouter)] = "wrong-password-0123456789"
	p, code := svcmaintest.Run(t, probe(svcmain.NoRedis), []string{"--config", reg.Path, "--nats-url", url}, reg.Getenv)
	if code != svcmain.ExitError {
		t.Fatalf("wrong password: exit code %d, want 1", code)
	}
	out := p.Stderr.String()
	for _, w := range []string{`refused the connection of user "router"`, "KETENBUS_NATS_PASSWORD_ROUTER", "--nats-creds"} {
		if !strings.Contains(out, w) {
			t.Errorf("stderr does not say %q:\n%s", w, out)
		}
	}
	svcmaintest.NoSecrets(t, out, reg.Env)
}

// TestFlagsOf lists the common flags and the service's own, with their
// variables and defaults, as -h shows them.
func TestFlagsOf(t *testing.T) {
	t.Parallel()
	svc := probe(svcmain.RedisOptional)
	svc.Flags = func(f *svcmain.Flags) { f.String("partners", "KETENBUS_ADAPTER_PARTNERS", "", "partner ids") }
	got := map[string]svcmain.Flag{}
	for _, f := range svcmain.FlagsOf(svc) {
		got[f.Name] = f
	}
	for _, want := range []svcmain.Flag{
		{Name: "config", Env: "KETENBUS_CONFIG"},
		{Name: "nats-url", Env: "KETENBUS_NATS_URL", Default: svcmain.DefaultNATSURL},
		{Name: "nats-user", Env: "KETENBUS_NATS_USER", Default: natsauth.UserRouter},
		{Name: "nats-creds", Env: "KETENBUS_NATS_CREDS"},
		{Name: "redis-url", Env: "KETENBUS_REDIS_URL", Default: svcmain.DefaultRedisURL},
		{Name: "metrics-addr", Env: "KETENBUS_METRICS_ADDR", Default: "127.0.0.1:0"},
		{Name: "log-level", Env: "KETENBUS_LOG_LEVEL", Default: "info"},
		{Name: "partners", Env: "KETENBUS_ADAPTER_PARTNERS"},
	} {
		if got[want.Name] != want {
			t.Errorf("flag %s: %+v, want %+v", want.Name, got[want.Name], want)
		}
		delete(got, want.Name)
	}
	for name := range got {
		t.Errorf("unexpected flag %s", name)
	}
	if flags := svcmain.FlagsOf(probe(svcmain.NoRedis)); slices.ContainsFunc(flags, func(f svcmain.Flag) bool { return f.Name == "redis-url" }) {
		t.Error("a service without Redis has --redis-url")
	}
	if flags, want := svcmain.FlagsOf(listening()), (svcmain.Flag{Name: "addr", Env: "KETENBUS_PROBE_ADDR", Default: "127.0.0.1:0"}); !slices.Contains(flags, want) {
		t.Errorf("flags of a service with a listener: %+v, want %+v among them", flags, want)
	}
}

// listening is a service with a listener of its own and a flag: its
// runner answers every request with the value of --greeting.
func listening() svcmain.Service {
	var greeting *string
	return svcmain.Service{
		Name:   natsauth.UserGateway,
		Listen: &svcmain.Listener{Flag: "addr", Env: "KETENBUS_PROBE_ADDR", Default: "127.0.0.1:0", Usage: "listen address"},
		Flags: func(f *svcmain.Flags) {
			greeting = f.String("greeting", "KETENBUS_PROBE_GREETING", "hello", "what to answer")
		},
		Start: func(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
			ln := env.Listener
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, *greeting) })}
			env.Logger.Info("probe listening", "url", "http://"+ln.Addr().String())
			return svcmain.RunFunc(func(ctx context.Context) error { return httpserve.Serve(ctx, srv, ln) }), nil
		},
	}
}

// TestListen: Main listens on the service's own address, hands the
// listener to Start and closes it after the stop.
func TestListen(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	p := svcmaintest.Start(t, listening(), []string{"--config", reg.Path, "--nats-url", env.URL, "--addr", "127.0.0.1:0", "--greeting", "hoi"}, reg.Getenv)
	url := p.WaitLog(t, "probe listening")["url"].(string)
	p.WaitLog(t, "started")
	if code, body := svcmaintest.Get(t, url); code != 200 || body != "hoi" {
		t.Errorf("GET %s = %d %q, want 200 hoi", url, code, body)
	}
	if code := p.Stop(t); code != svcmain.ExitOK {
		t.Fatalf("exit code %d after the context ended, want 0", code)
	}
	if _, err := http.Get(url); err == nil {
		t.Errorf("%s still answers after the stop", url)
	}
}

// TestListen_takenBeforeConnecting: a taken address of the service's own
// is reported, with its flag and variable, before NATS is tried.
func TestListen_takenBeforeConnecting(t *testing.T) {
	t.Parallel()
	reg := svcmaintest.NewRegion(t, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	taken := ln.Addr().String()
	p, code := svcmaintest.Run(t, listening(), []string{"--config", reg.Path, "--nats-url", "nats://" + closedAddr(t), "--addr", taken}, reg.Getenv)
	if code != svcmain.ExitError {
		t.Fatalf("exit code %d, want %d", code, svcmain.ExitError)
	}
	out := p.Stderr.String()
	for _, w := range []string{"listen on " + taken, "--addr", "KETENBUS_PROBE_ADDR"} {
		if !strings.Contains(out, w) {
			t.Errorf("stderr does not say %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "NATS") {
		t.Errorf("NATS was tried before the address was taken:\n%s", out)
	}
}

// TestStart: a service started in the process of another runs with its
// own flags at their defaults, on the listener it is given, and does not
// start without one.
func TestStart(t *testing.T) {
	t.Parallel()
	reg, err := region.Load(svcmaintest.NewRegion(t, "").Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svcmain.Start(t.Context(), listening(), &svcmain.Env{Region: reg, Logger: slog.New(slog.DiscardHandler)}); err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("without a listener: %v, want an error naming --addr", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := svcmain.Start(t.Context(), listening(), &svcmain.Env{Region: reg, Logger: slog.New(slog.DiscardHandler), Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	if code, body := svcmaintest.Get(t, "http://"+ln.Addr().String()); code != 200 || body != "hello" {
		t.Errorf("GET = %d %q, want 200 hello (the default of --greeting)", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after the context ended: %v, want nil", err)
	}
}
