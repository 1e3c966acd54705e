package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

const (
	publishTokenPolitie  = "tok-politie-publish-5e6f7a8b9c0d"
	publishTokenWijkteam = "tok-wijkteam-publish-1b2c3d4e5f6a"
	publishTokenGGZ      = "tok-ggz-publish-9a8b7c6d5e4f"
	publishWrongToken    = "tok-wrong-0f1e2d3c4b5a"
)

var publishPseudonymKey = []byte("0123456789abcdef0123456789abcdef")

// startGateway serves a real gateway, storing on a real nats-server, and
// counts the requests that reach it.
func startGateway(t *testing.T) (url string, requests *atomic.Int64, env *natstest.Env) {
	t.Helper()
	env = natstest.Start(t)
	reg, err := region.Load(regionFile)
	if err != nil {
		t.Fatal(err)
	}
	logger, _ := logtest.New()
	g, err := gateway.New(gateway.Config{
		Region: reg,
		Secrets: region.Secrets{
			PseudonymKey:   publishPseudonymKey,
			EncryptionKeys: [][]byte{[]byte("fedcba9876543210fedcba9876543210")},
			Tokens:         map[string]string{"politie": publishTokenPolitie, "wijkteam": publishTokenWijkteam, "ggz": publishTokenGGZ},
		},
		JetStream: env.JS,
		Logger:    logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	requests = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		g.ServeHTTP(w, r)
	}))
	t.Cleanup(g.Close)
	t.Cleanup(srv.Close)
	return srv.URL, requests, env
}

// TestPublish sends files to a real gateway: valid events are accepted
// and their sequences printed; an invalid file is refused offline without
// a request; a wrong token gets the gateway's 401, a partner that may not
// use the source its 403; a token variable that is not set is a usage
// error naming it. No token and no data value is ever printed.
func TestPublish(t *testing.T) {
	url, requests, _ := startGateway(t)
	t.Setenv("KETENBUS_GATEWAY_URL", "")
	t.Setenv("KETENBUS_TOKEN_POLITIE", publishTokenPolitie)
	t.Setenv("KETENBUS_TOKEN_WIJKTEAM", publishTokenWijkteam)
	t.Setenv("KETENBUS_TOKEN_GGZ", publishTokenGGZ)
	t.Setenv("KB_TEST_WRONG_TOKEN", publishWrongToken)
	signaal, err := os.ReadFile("testdata/signaal.json")
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{publishTokenPolitie, publishTokenWijkteam, publishTokenGGZ, publishWrongToken,
		"111222333", "Meerdere meldingen", "deboer@politie", "Vermoeden van huiselijk geweld", "m.bakker@wijkteam"}
	base := []string{"publish", "--config", regionFile, "--gateway", url}

	for _, tc := range []struct {
		name     string
		env      map[string]string // set for this case
		args     []string
		stdin    string
		code     int
		stdout   string // exactly, when set
		inStdout []string
		inStderr string
		requests int64 // that reach the gateway
	}{
		{name: "signaal", args: []string{"testdata/signaal.json"}, code: 0, requests: 1,
			stdout: "signaal-0001: accepted, sequence 1\n"},
		{name: "duplicate from stdin", args: []string{"-"}, stdin: string(signaal), code: 0, requests: 1,
			stdout: "signaal-0001: duplicate, already stored at sequence 1\n"},
		{name: "batch", args: []string{"testdata/batch.json"}, code: 0, requests: 1,
			stdout: "signaal-0002: accepted, sequence 2\naanmelding-0001: accepted, sequence 3\n"},
		{name: "invalid offline", args: []string{"testdata/invalid.json"}, code: 1, requests: 0,
			inStdout: []string{"testdata/invalid.json: refused offline, not sent", "testdata/invalid.json: /data/bsn: bsn must be 9 digits"}},
		{name: "invalid batch offline", args: []string{"testdata/invalid-batch.json"}, code: 1, requests: 0,
			inStdout: []string{"testdata/invalid-batch.json: /1/data/urgentie: urgentie must be one of"}},
		{name: "wrong token", args: []string{"--token-env", "KB_TEST_WRONG_TOKEN", "testdata/signaal.json"}, code: 1, requests: 1,
			inStdout: []string{"testdata/signaal.json: refused by the gateway: 401 "}},
		{name: "source of another partner", args: []string{"--partner", "ggz", "testdata/signaal.json"}, code: 1, requests: 1,
			inStdout: []string{"testdata/signaal.json: refused by the gateway: 403 "}},
		{name: "token not set", env: map[string]string{"KETENBUS_TOKEN_POLITIE": ""}, args: []string{"testdata/signaal.json"}, code: 2, requests: 0,
			inStderr: "environment variable KETENBUS_TOKEN_POLITIE is not set: it holds partner politie's gateway token; set it, or pass --token-env VAR"},
		{name: "token-env not set", args: []string{"--token-env", "KB_TEST_NOT_SET", "testdata/signaal.json"}, code: 2, requests: 0,
			inStderr: "environment variable KB_TEST_NOT_SET is not set"},
		{name: "unknown partner", args: []string{"--partner", "nope", "testdata/signaal.json"}, code: 2, requests: 0,
			inStderr: `partner "nope" is not in region config`},
		{name: "missing file", args: []string{"testdata/missing.json"}, code: 2, requests: 0,
			inStderr: "testdata/missing.json: cannot read: no such file or directory"},
		{name: "two files", args: []string{"testdata/signaal.json", "testdata/batch.json"}, code: 2, requests: 0,
			inStderr: "name one FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			before := requests.Load()
			code, out, errOut := ketenbus(t, tc.stdin, append(base, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			if tc.stdout != "" && out != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tc.stdout)
			}
			for _, want := range tc.inStdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			if !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("stderr %q lacks %q", errOut, tc.inStderr)
			}
			if got := requests.Load() - before; got != tc.requests {
				t.Errorf("%d requests reached the gateway, want %d", got, tc.requests)
			}
			for _, s := range secrets {
				if strings.Contains(out+errOut, s) {
					t.Errorf("the output holds %q:\n%s\n%s", s, out, errOut)
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		code, out, errOut := ketenbus(t, "", append(base, "--json", "--token-env", "KB_TEST_WRONG_TOKEN", "testdata/batch.json")...)
		if code != 1 {
			t.Errorf("exit %d, want 1: %s", code, errOut)
		}
		var res publishResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("--json: %v\n%s", err, out)
		}
		if !res.Valid || res.Status != http.StatusUnauthorized || res.Problem == nil || res.Problem.Title == "" || res.Accepted != nil {
			t.Errorf("--json result %s, want a 401 problem", out)
		}
		code, out, _ = ketenbus(t, "", append(base, "--json", "testdata/batch.json")...)
		res = publishResult{}
		if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 {
			t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
		}
		if len(res.Accepted) != 2 || !res.Accepted[0].Duplicate || res.Accepted[0].Sequence != 2 || res.Accepted[1].ID != "aanmelding-0001" {
			t.Errorf("--json result %s, want both events answered as duplicates", out)
		}
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("the output holds %q:\n%s", s, out)
			}
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		code, out, _ := ketenbus(t, "", "publish", "--config", regionFile, "--gateway", "http://127.0.0.1:1", "testdata/signaal.json")
		if code != 1 || !strings.Contains(out, "testdata/signaal.json: not published: the gateway at http://127.0.0.1:1/v1/events cannot be reached") {
			t.Errorf("exit %d, stdout %q", code, out)
		}
	})
}

// TestTailSealedEvents publishes a signaal through the real gateway, which
// pseudonymises and seals it as in production, and tails it: the line and
// the JSON object name the person by pseudonym only and hold neither the
// BSN nor any data, sealed (kb1.…) or in clear.
func TestTailSealedEvents(t *testing.T) {
	url, _, env := startGateway(t)
	t.Setenv("KETENBUS_TOKEN_POLITIE", publishTokenPolitie)
	if code, out, errOut := ketenbus(t, "", "publish", "--config", regionFile, "--gateway", url, "testdata/signaal.json"); code != 0 {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errOut)
	}
	pz, err := events.NewPseudonymizer(publishPseudonymKey)
	if err != nil {
		t.Fatal(err)
	}
	person := pz.Pseudonym("111222333")
	if stored := env.Messages(t, events.StreamEvents); len(stored) != 1 || !strings.Contains(string(stored[0].Data), `"kb1.`) {
		t.Fatalf("EVENTS does not hold the signaal with a sealed field: %d messages", len(stored))
	}
	tail := []string{"tail", "--config", regionFile, "--nats-url", env.URL, "--from-seq", "1", "--count", "1"}
	code, line, errOut := runFor(t, 20*time.Second, tail...)
	if f := strings.Fields(strings.TrimSpace(line)); code != 0 || len(f) != 16 || f[8] != "1" || f[13] != events.ShortPseudonym(person) || f[15] != "politie" {
		t.Errorf("tail: exit %d, stdout:\n%s\nstderr: %s", code, line, errOut)
	}
	code, obj, errOut := runFor(t, 20*time.Second, append(tail, "--json")...)
	var attrs map[string]any
	if err := json.Unmarshal([]byte(obj), &attrs); err != nil || code != 0 || attrs["subject"] != person || attrs["id"] != "signaal-0001" {
		t.Errorf("tail --json: exit %d, %v, stdout:\n%s\nstderr: %s", code, err, obj, errOut)
	}
	for _, s := range []string{"111222333", "kb1.", "Meerdere meldingen", "deboer", "verward-gedrag", publishTokenPolitie} {
		if strings.Contains(line+obj+errOut, s) {
			t.Errorf("tail shows %q:\n%s%s%s", s, line, obj, errOut)
		}
	}
}
