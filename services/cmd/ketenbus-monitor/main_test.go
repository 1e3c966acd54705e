package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/svcmain"
	"github.com/ketenbus/ketenbus/services/shared/svcmain/svcmaintest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

func TestMain_servesDashboardMetricsAndStops(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	rs := redistest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	p := svcmaintest.Start(t, service(), []string{"--config", reg.Path, "--nats-url", env.URL, "--redis-url", rs.URL(), "--monitor-addr", "127.0.0.1:0"}, reg.Getenv)
	base := p.WaitLog(t, "monitor listening")["url"].(string)
	p.WaitLog(t, "started")

	if code, _ := svcmaintest.Get(t, base+"/healthz"); code != 200 {
		t.Errorf("GET /healthz = %d, want 200", code)
	}
	_, metrics := svcmaintest.Get(t, base+"/metrics")
	svcmaintest.WantMetrics(t, metrics, "go_goroutines", "process_resident_memory_bytes")
	if code, _ := svcmaintest.Get(t, base+"/"); code == 200 {
		t.Error("GET / without the operator token = 200: the monitor is open")
	}
	if code, body := svcmaintest.Get(t, base+"/", "Authorization", "Bearer "+reg.Env["KETENBUS_MONITOR_TOKEN"]); code != 200 {
		t.Errorf("GET / with the operator token = %d, want 200:\n%s", code, body)
	}

	if code := p.Stop(t); code != svcmain.ExitOK {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	svcmaintest.NoSecrets(t, p.Stderr.String(), reg.Env)
}

// TestMain_refusesToStartOpen: a region that says nothing about who may
// sign in does not get an open dashboard.
func TestMain_refusesToStartOpen(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	text := strings.Replace(svcmaintest.RegionText, "monitor:\n  token_env: KETENBUS_MONITOR_TOKEN\n", "", 1)
	reg := svcmaintest.NewRegion(t, text)
	p, code := svcmaintest.Run(t, service(), []string{"--config", reg.Path, "--nats-url", env.URL, "--redis-url", "", "--monitor-addr", "127.0.0.1:0"}, reg.Getenv)
	if code != svcmain.ExitError {
		t.Fatalf("exit code %d, want 1", code)
	}
	out := p.Stderr.String()
	for _, w := range []string{"does not start open", "monitor.token_env", "monitor.trusted_header"} {
		if !strings.Contains(out, w) {
			t.Errorf("stderr does not say %q:\n%s", w, out)
		}
	}
}

// TestMain_asNATSUser: under its own NATS user, with the permissions of
// deploy/nats, the monitor shows its overview and stops without a single
// permissions violation.
func TestMain_asNATSUser(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	url := reg.StartAuthNATS(t)
	p := svcmaintest.Start(t, service(), []string{"--config", reg.Path, "--nats-url", url, "--redis-url", rs.URL(), "--monitor-addr", "127.0.0.1:0"}, reg.Getenv)
	base := p.WaitLog(t, "monitor listening")["url"].(string)
	p.WaitLog(t, "started")
	if code, body := svcmaintest.Get(t, base+"/", "Authorization", "Bearer "+reg.Env["KETENBUS_MONITOR_TOKEN"]); code != 200 {
		t.Errorf("GET / with the operator token = %d, want 200:\n%s", code, body)
	}
	time.Sleep(500 * time.Millisecond) // the streams are being followed
	reg.StopClean(t, p)
	p.NoNATSErrors(t)
}
