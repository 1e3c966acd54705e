package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
	"github.com/ketenbus/ketenbus/services/shared/svcmain/svcmaintest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// bsn is fictitious: it passes the elfproef but belongs to no one.
const bsn = "111222333"

func TestMain_storesEventsServesMetricsAndStops(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	p, _ := reg.ServeMetrics(t, service(), env.URL, "--addr", "127.0.0.1:0")
	base := p.WaitLog(t, "gateway listening")["url"].(string)
	metricsBase := "http://" + p.WaitLog(t, "metrics listening")["addr"].(string)

	body, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": "svcmain-1", "source": "urn:nld:oin:00000009999999990001:systeem:bvh",
		"type": events.TypeSignaal, "time": "2026-11-24T09:30:00+01:00",
		"data": map[string]any{"bsn": bsn, "categorie": "verward-gedrag", "urgentie": "hoog",
			"contactpersoon": map[string]any{"naam": "Wijkagent De Vries"}},
	})
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("Authorization", "Bearer "+reg.Env["KETENBUS_TOKEN_POLITIE"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/events = %d, want 202", resp.StatusCode)
	}
	if n := len(env.Messages(t, events.StreamEvents)); n != 1 {
		t.Errorf("EVENTS holds %d messages, want 1", n)
	}

	for _, url := range []string{base + "/healthz", base + "/readyz", metricsBase + "/healthz", metricsBase + "/readyz"} {
		if code, _ := svcmaintest.Get(t, url); code != 200 {
			t.Errorf("GET %s = %d, want 200", url, code)
		}
	}
	// The partners' port does not show the metrics: they name every
	// partner and its volumes.
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" || strings.Contains(string(b), "ketenbus_gateway") {
		t.Errorf("GET /metrics on the partners' port = %d %s %s, want a 404 problem", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	_, metrics := svcmaintest.Get(t, metricsBase+"/metrics")
	svcmaintest.WantMetrics(t, metrics, "ketenbus_gateway_events_total", "ketenbus_gateway_request_duration_seconds_count", "go_goroutines")
	if !strings.Contains(metrics, `result="stored"`) {
		t.Errorf("/metrics counts no stored event:\n%s", metrics)
	}

	if code := p.Stop(t); code != svcmain.ExitOK {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	logs := p.Stderr.String()
	svcmaintest.NoSecrets(t, logs, reg.Env)
	if strings.Contains(logs, bsn) {
		t.Error("the log holds the BSN")
	}
}

func TestMain_addressTaken(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg := svcmaintest.NewRegion(t, "")
	taken := env.Server.Addr().String()
	p, code := svcmaintest.Run(t, service(), []string{"--config", reg.Path, "--nats-url", env.URL, "--addr", taken, "--metrics-addr", "127.0.0.1:0"}, reg.Getenv)
	if code != svcmain.ExitError {
		t.Fatalf("exit code %d, want 1", code)
	}
	if out := p.Stderr.String(); !strings.Contains(out, "listen on "+taken) || !strings.Contains(out, "--addr") {
		t.Errorf("stderr does not name the address and the flag:\n%s", out)
	}
}

// TestMain_asNATSUser: under its own NATS user, with the permissions of
// deploy/nats, the gateway is ready and stops without a single
// permissions violation.
func TestMain_asNATSUser(t *testing.T) {
	t.Parallel()
	reg := svcmaintest.NewRegion(t, "")
	p, _ := reg.ServeMetrics(t, service(), reg.StartAuthNATS(t), "--addr", "127.0.0.1:0")
	svcmaintest.WaitOK(t, p.WaitLog(t, "gateway listening")["url"].(string)+"/readyz")
	reg.StopClean(t, p)
	p.NoNATSErrors(t)
}
