package monitor_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// TestRun: Run serves the dashboard on Config.Addr until ctx ends and
// returns nil then; an address in use is an error that names it.
func TestRun(t *testing.T) {
	t.Parallel()
	reg := accessRegionConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cfg := monitor.Config{Addr: addr, Region: reg, JetStream: natstest.Start(t).JS, Auth: monitor.Auth{Open: true}}

	// In use: the listener above holds the port.
	if err := monitor.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "listen on "+addr) {
		t.Fatalf("Run on a port in use: %v, want an error naming %s", err, addr)
	}
	ln.Close()

	// stop fails the test when Run returns an error or does not return.
	stop := runtest.Start(t, "monitor", func(ctx context.Context) error { return monitor.Run(ctx, cfg) })
	runtest.Eventually(t, 5*time.Second, "the dashboard served", func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `id="partner-ggz"`)
	})
	stop()
}
