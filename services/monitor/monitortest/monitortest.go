// Package monitortest runs the monitor in a test: on a free port, until
// the test ends.
package monitortest

import (
	"context"
	"net"
	"testing"

	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// Serve runs a monitor with cfg (its Addr replaced by a free port) until
// the test ends and returns its base URL, "http://127.0.0.1:<port>".
func Serve(t testing.TB, cfg monitor.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = ln.Addr().String()
	mon, err := monitor.New(cfg)
	if err != nil {
		t.Fatalf("monitor.New: %v", err)
	}
	runtest.Start(t, "monitor", func(ctx context.Context) error { return mon.Serve(ctx, ln) })
	return "http://" + ln.Addr().String()
}
