package monitor_test

import (
	"context"
	"net"
	"os"
	"testing"

	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// testRegion is testdata/region.yaml: "{ggz}" and "{zvh}" stand for the
// partners' webhook URLs. The dashboard's whole-system tests in
// tools/e2e/dashboard run the same region with every service.
var testRegion = func() string {
	b, err := os.ReadFile("testdata/region.yaml")
	if err != nil {
		panic("read the monitor's test region: " + err.Error())
	}
	return string(b)
}()

// serveMonitor runs a monitor with cfg on a free port until the test ends
// and returns its base URL.
func serveMonitor(t *testing.T, cfg monitor.Config) string {
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
