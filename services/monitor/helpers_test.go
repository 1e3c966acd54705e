package monitor_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/monitor/monitortest"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
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

// accessRegion is testRegion with webhooks nobody answers.
var accessRegion = strings.NewReplacer("{ggz}", "http://127.0.0.1:9/ggz", "{zvh}", "http://127.0.0.1:9/zvh").Replace(testRegion)

// accessMonitor serves a monitor (without Redis) with auth and returns
// its base URL.
func accessMonitor(t *testing.T, auth monitor.Auth) string {
	t.Helper()
	base, _ := monitorOnly(t, auth)
	return base
}

// accessRegionConfig is accessRegion parsed.
func accessRegionConfig(t *testing.T) *region.Config {
	t.Helper()
	reg, err := region.Parse("region.yaml", []byte(accessRegion))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// monitorOnly serves a monitor with auth on a nats-server of its own, no
// other service and no Redis, and returns its base URL and the server.
func monitorOnly(t *testing.T, auth monitor.Auth) (string, *natstest.Env) {
	t.Helper()
	reg := accessRegionConfig(t)
	env := natstest.Start(t)
	return monitortest.Serve(t, monitor.Config{Region: reg, JetStream: env.JS, Auth: auth}), env
}

// page returns the body of GET base+path.
func page(t *testing.T, base, path string) string {
	t.Helper()
	_, body := do(t, http.DefaultClient, http.MethodGet, base+path, nil, nil)
	return body
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, c *http.Client, method, u string, form url.Values, h http.Header) (*http.Response, string) {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return resp, string(b)
}
