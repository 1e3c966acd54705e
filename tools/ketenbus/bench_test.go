package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// TestBench posts generated signalen to a real gateway: at a rate, the
// number due in the duration; as fast as possible, some; every one
// stored with its BSN sealed, and the token never printed. A wrong
// token, an unknown partner, a region that is not a demo region and wrong
// numbers each say what to do.
func TestBench(t *testing.T) {
	url, requests, env := startGateway(t)
	t.Setenv("KETENBUS_GATEWAY_URL", "")
	t.Setenv("KETENBUS_TOKEN_POLITIE", publishTokenPolitie)
	t.Setenv("KB_TEST_WRONG_TOKEN", publishWrongToken)
	base := []string{"bench", "--config", regionFile, "--gateway", url, "--partner", "politie"}

	code, out, errOut := ketenbus(t, "", append(base, "--rate", "50", "--duration", "400ms", "--concurrency", "4", "--json")...)
	if code != 0 {
		t.Fatalf("bench at 50/s: exit %d\n%s%s", code, out, errOut)
	}
	var res benchResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if res.Sent != 20 || res.Status["202"] != 20 || len(res.Status) != 1 || res.Partner != "politie" || res.PerSecond <= 0 {
		t.Errorf("at 50/s for 400ms: %+v, want 20 sent and accepted", res)
	}
	if l := res.LatencyMS; l == nil || l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
		t.Errorf("latency %+v, want 0 < p50 <= p99 <= max", l)
	}
	if n := requests.Load(); n != 20 {
		t.Errorf("the gateway got %d requests, want 20", n)
	}
	stored := env.Messages(t, events.StreamEvents)
	if len(stored) != 20 {
		t.Fatalf("EVENTS holds %d events, want 20", len(stored))
	}
	for _, m := range stored {
		var ev struct {
			ID   string `json:"id"`
			Data struct {
				BSN string `json:"bsn"`
			} `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil || !strings.HasPrefix(ev.ID, "bench-") || !strings.HasPrefix(ev.Data.BSN, "kb1.") {
			t.Fatalf("stored event %s: want a bench id and the BSN sealed (%v)", m.Data, err)
		}
	}

	// One at a time for a moment: within politie's rate_limit burst.
	code, out, errOut = ketenbus(t, "", append(base, "--rate", "0", "--duration", "100ms", "--concurrency", "1")...)
	if code != 0 || !strings.Contains(out, "202 Accepted") || !strings.Contains(out, "accepted in: p50") || !strings.Contains(out, "as fast as possible") {
		t.Errorf("bench as fast as possible: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, publishTokenPolitie) {
		t.Error("bench printed the token")
	}

	code, out, _ = ketenbus(t, "", append(base, "--token-env", "KB_TEST_WRONG_TOKEN", "--duration", "100ms")...)
	if code != 1 || !strings.Contains(out, "401 Unauthorized: the token is not the partner's; check --token-env") {
		t.Errorf("wrong token: exit %d\n%s", code, out)
	}

	before := requests.Load()
	notDemo := filepath.Join(t.TempDir(), "region.yaml")
	text, err := os.ReadFile(regionFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notDemo, []byte(strings.Replace(string(text), "\ndemo: true", "\ndemo: false", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--config", notDemo, "--gateway", url, "--partner", "politie"}, "is not a demo region: every partner that subscribes to signalen would receive bench's fictitious signalen; pass --yes if they may"},
		{append(base[:len(base)-1], "zvh-bestaat-niet"), `partner "zvh-bestaat-niet" is not in region config`},
		{append(base, "--rate", "-1"), "--rate -1 is negative"},
		{append(base, "--duration", "0s"), "--duration 0s is not positive"},
		{append(base, "--concurrency", "0"), "--concurrency 0: pass 1 or more"},
	} {
		code, _, errOut := ketenbus(t, "", tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("bench %v: exit %d, stderr %q; want 2 and %q", tc.args[1:], code, errOut, tc.want)
		}
	}
	if n := requests.Load(); n != before {
		t.Errorf("refused runs sent %d requests", n-before)
	}
}

// TestBenchPartner: the first partner that publishes signalen, or the one
// named, which must publish them.
func TestBenchPartner(t *testing.T) {
	t.Parallel()
	reg := &region.Config{Partners: []region.Partner{
		{ID: "ggz", Publishes: []string{events.TypeAanmelding}, Sources: []string{"urn:nld:kvknr:99999901:systeem:epd"}},
		{ID: "politie", Publishes: []string{events.TypeSignaal}, Sources: []string{"urn:nld:oin:00000009999999990004:systeem:bvh"}},
	}}
	if p, err := benchPartner(reg, "", "region.yaml"); err != nil || p.ID != "politie" {
		t.Errorf("default partner %v, %v; want politie", p, err)
	}
	if _, err := benchPartner(reg, "ggz", "region.yaml"); err == nil || !strings.Contains(err.Error(), "partner ggz does not publish signalen in region config region.yaml; pick one that does") {
		t.Errorf("ggz: %v", err)
	}
	if _, err := benchPartner(&region.Config{Partners: reg.Partners[:1]}, "", "region.yaml"); err == nil || !strings.Contains(err.Error(), "no partner in region config region.yaml publishes signalen; pass --partner") {
		t.Errorf("none: %v", err)
	}
}

// TestBenchStopsAtDuration: a gateway slower than --rate does not stretch
// the run past --duration; what was not sent is not counted.
func TestBenchStopsAtDuration(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(50 * time.Millisecond)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(slow.Close)
	t.Setenv("KETENBUS_TOKEN_POLITIE", publishTokenPolitie)
	code, out, errOut := ketenbus(t, "", "bench", "--config", regionFile, "--gateway", slow.URL, "--partner", "politie",
		"--rate", "1000", "--duration", "300ms", "--concurrency", "1", "--json")
	var res benchResult
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil {
		t.Fatalf("exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if res.Seconds > 1 || res.Sent < 2 || res.Sent > 10 || res.Status["202"] != res.Sent {
		t.Errorf("against a gateway of 20/s at --rate 1000 for 300ms: %+v; want a few events in about 300ms", res)
	}
}
