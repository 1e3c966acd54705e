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
	"github.com/ketenbus/ketenbus/services/region"
	"github.com/ketenbus/ketenbus/services/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/testutil/runtest"
)

// TestRun: Run serves the dashboard on Config.Addr until ctx ends and
// returns nil then; an address in use is an error that names it.
func TestRun(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	text := strings.NewReplacer("{ggz}", "http://127.0.0.1:1/ggz", "{zvh}", "http://127.0.0.1:1/zvh").Replace(testRegion)
	reg, err := region.Parse("region.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cfg := monitor.Config{Addr: addr, Region: reg, JetStream: env.JS, Auth: monitor.Auth{Open: true}}

	// In use: the listener above holds the port.
	if err := monitor.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "listen on "+addr) {
		t.Fatalf("Run on a port in use: %v, want an error naming %s", err, addr)
	}
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- monitor.Run(ctx, cfg) }()
	runtest.Eventually(t, 5*time.Second, "the dashboard served", func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `id="partner-ggz"`)
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after ctx ended: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
}
