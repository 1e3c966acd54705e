package main

import (
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/svcmain"
	"github.com/ketenbus/ketenbus/services/shared/svcmain/svcmaintest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

func TestMain_servesMetricsAndStops(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	p, body := reg.ServeMetrics(t, service(), env.URL, "--partners", "zvh")
	svcmaintest.WantMetrics(t, body, "ketenbus_adapter_circuit_open", "ketenbus_dlq_messages", "go_goroutines")
	if !strings.Contains(body, `ketenbus_adapter_circuit_open{partner="zvh"} 0`) {
		t.Errorf("/metrics has no closed circuit of zvh:\n%s", body)
	}
	reg.StopClean(t, p)
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
	body := svcmaintest.NewRegion(t, "").ServeAsNATSUser(t, service())
	// The gauges read the DLQ and the adapter's consumers under deploy/nats
	// too: a read refused would leave its samples out.
	svcmaintest.WantMetrics(t, body, "ketenbus_dlq_messages", "ketenbus_adapter_pending_deliveries")
}
