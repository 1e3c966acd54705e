package main

import (
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/internal/svcmain"
	"github.com/ketenbus/ketenbus/services/internal/svcmain/svcmaintest"
	"github.com/ketenbus/ketenbus/services/testutil/natstest"
)

func TestMain_servesMetricsAndStops(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	p := svcmaintest.Start(t, service(), []string{"--config", reg.Path, "--nats-url", env.URL, "--metrics-addr", "127.0.0.1:0", "--partners", "zvh"}, reg.Getenv)
	base := "http://" + p.WaitLog(t, "metrics listening")["addr"].(string)
	p.WaitLog(t, "started")

	if code, _ := svcmaintest.Get(t, base+"/healthz"); code != 200 {
		t.Errorf("GET /healthz = %d, want 200", code)
	}
	svcmaintest.WaitOK(t, base+"/readyz")
	_, body := svcmaintest.Get(t, base+"/metrics")
	svcmaintest.WantMetrics(t, body, "ketenbus_adapter_circuit_open", "ketenbus_dlq_messages", "go_goroutines")
	if !strings.Contains(body, `ketenbus_adapter_circuit_open{partner="zvh"} 0`) {
		t.Errorf("/metrics has no closed circuit of zvh:\n%s", body)
	}

	if code := p.Stop(t); code != svcmain.ExitOK {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	svcmaintest.NoSecrets(t, p.Stderr.String(), reg.Env)
}

func TestMain_unknownPartner(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	p, code := svcmaintest.Run(t, service(), []string{"--config", reg.Path, "--nats-url", env.URL, "--metrics-addr", "127.0.0.1:0", "--partners", "zvh,nobody"}, reg.Getenv)
	if code != svcmain.ExitError {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(p.Stderr.String(), "nobody") {
		t.Errorf("stderr does not name the unknown partner:\n%s", p.Stderr)
	}
}

// TestMain_asNATSUser: under its own NATS user, with the permissions of
// deploy/nats, the adapter starts, serves its metrics and stops without a
// single permissions violation.
func TestMain_asNATSUser(t *testing.T) {
	t.Parallel()
	reg := svcmaintest.NewRegion(t, "")
	url := reg.StartAuthNATS(t)
	p := svcmaintest.Start(t, service(), []string{"--config", reg.Path, "--nats-url", url, "--metrics-addr", "127.0.0.1:0"}, reg.Getenv)
	base := "http://" + p.WaitLog(t, "metrics listening")["addr"].(string)
	p.WaitLog(t, "started")
	svcmaintest.WaitOK(t, base+"/readyz")
	_, body := svcmaintest.Get(t, base+"/metrics")
	svcmaintest.WantMetrics(t, body, "ketenbus_dlq_messages")
	if code := p.Stop(t); code != svcmain.ExitOK {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	// The gauges read the DLQ and the adapter's consumers under deploy/nats
	// too.
	if strings.Contains(body, "} -1") {
		t.Errorf("a gauge is -1 under the adapter's own user:\n%s", body)
	}
	p.NoNATSErrors(t)
	svcmaintest.NoSecrets(t, p.Stderr.String(), reg.Env)
}
