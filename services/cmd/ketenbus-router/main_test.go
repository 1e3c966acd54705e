package main

import (
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/embednats"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
	"github.com/ketenbus/ketenbus/services/shared/svcmain/svcmaintest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

func TestMain_servesMetricsAndStops(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	p, body := reg.ServeMetrics(t, service(), env.URL)
	svcmaintest.WantMetrics(t, body, "ketenbus_router_handle_seconds_count", "ketenbus_router_lag_seconds_count",
		"ketenbus_router_unreadable_total", "go_goroutines", "process_resident_memory_bytes")
	reg.StopClean(t, p)
}

// TestMain_withoutStreams: the router does not create EVENTS; it stops,
// saying who creates the streams.
func TestMain_withoutStreams(t *testing.T) {
	t.Parallel()
	ns, err := embednats.Start(embednats.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	reg := svcmaintest.NewRegion(t, "")
	p, code := svcmaintest.Run(t, service(), []string{"--config", reg.Path, "--nats-url", ns.ClientURL(), "--metrics-addr", "127.0.0.1:0"}, reg.Getenv)
	if code != svcmain.ExitError {
		t.Fatalf("exit code %d without streams, want 1", code)
	}
	out := p.Stderr.String()
	for _, w := range []string{"ketenbus-router: ", "EVENTS", "stream not found", "ketenbus streams ensure", "deploy/services.md"} {
		if !strings.Contains(out, w) {
			t.Errorf("stderr does not say %q:\n%s", w, out)
		}
	}
}

// TestMain_asNATSUser: under its own NATS user, with the permissions of
// deploy/nats, the router starts, serves its metrics and stops without a
// single permissions violation.
func TestMain_asNATSUser(t *testing.T) {
	t.Parallel()
	body := svcmaintest.NewRegion(t, "").ServeAsNATSUser(t, service())
	// ketenbus_router_pending_events reads the router's consumer under
	// deploy/nats too: a read refused would leave its sample out.
	svcmaintest.WantMetrics(t, body, "ketenbus_router_handle_seconds_count", "ketenbus_router_pending_events")
}
