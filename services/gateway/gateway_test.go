package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
)

func TestStructuredEventIsStoredWithPseudonym(t *testing.T) {
	t.Parallel()
	f := start(t)
	resp, body := f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("e-1"))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	a := decode[answer](t, body)
	if a.ID != "e-1" || a.Sequence != 1 || a.Duplicate {
		t.Fatalf("answer %+v", a)
	}
	msgs := f.env.Messages(t, events.StreamEvents)
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored", len(msgs))
	}
	m := msgs[0]
	if m.Subject != "ketenbus.events.signaal.v1.politie" {
		t.Fatalf("subject %s", m.Subject)
	}
	if got := m.Header.Get(jetstream.MsgIDHeader); got != events.MsgID(sourcePolitie, "e-1") {
		t.Fatalf("Nats-Msg-Id %q", got)
	}
	if strings.Contains(string(m.Data), testBSN) {
		t.Fatalf("the stored event holds the BSN in clear: %s", m.Data)
	}
	p, err := events.Default().ParseStructured(opened(t, m.Data))
	if err != nil {
		t.Fatalf("stored event, its bsn opened, does not pass the catalog: %v", err)
	}
	if p.Event.Subject() != pseudonymOf(testBSN) || p.String("bsn") != testBSN {
		t.Fatalf("subject %q is not the pseudonym, or the sealed bsn does not open to the one sent", p.Event.Subject())
	}
	assertNoBSNOutsideData(t, m)
}

// opened returns a stored event with its sealed fields opened, as the
// adapter opens them for a subscription that lists them.
func opened(t *testing.T, stored []byte) []byte {
	t.Helper()
	keys, err := fieldcrypt.New(fieldKeys)
	if err != nil {
		t.Fatal(err)
	}
	out, err := keys.Open(stored, func(string) bool { return true })
	if err != nil {
		t.Fatalf("open the stored event: %v", err)
	}
	return out
}

func TestBinaryModeAndOntvanger(t *testing.T) {
	t.Parallel()
	f := start(t)
	a := aanmelding("a-1")
	data, _ := json.Marshal(a["data"])
	logged := time.Now().Add(-time.Hour).Truncate(time.Second).In(time.FixedZone("", 3600))
	resp, body := f.post(t, "application/json", tokenPolitie, data,
		"ce-specversion", "1.0", "ce-id", "a-1", "ce-source", sourcePolitie,
		"ce-type", events.TypeAanmelding, "ce-time", strings.Replace(logged.Format(time.RFC3339), "+", "%2B", 1))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	m := f.env.Messages(t, events.StreamEvents)[0]
	p, err := events.Default().ParseStructured(opened(t, m.Data))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Event.Extensions()[events.ExtensionOntvanger]; got != "ggz" {
		t.Fatalf("ontvanger attribute %v, want ggz", got)
	}
	if want := logged; !p.Event.Time().Equal(want) {
		t.Fatalf("time %v, want %v (percent-decoded)", p.Event.Time(), want)
	}
	if m.Subject != "ketenbus.events.aanmelding.v1.politie" || p.Event.Subject() != pseudonymOf(testBSN) {
		t.Fatalf("subject %s / %s", m.Subject, p.Event.Subject())
	}
}

func TestBatchIsStoredWholeAndRetriesAreDuplicates(t *testing.T) {
	t.Parallel()
	f := start(t)
	batch := []any{signaal("b-1"), aanmelding("b-2"), signaal("b-3")}
	resp, body := f.post(t, events.ContentTypeBatch, tokenPolitie, batch)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	as := decode[[]answer](t, body)
	if len(as) != 3 || as[0].Sequence != 1 || as[2].Sequence != 3 || as[1].ID != "b-2" {
		t.Fatalf("answers %+v", as)
	}
	// The same batch again: accepted once, every answer says duplicate.
	resp, body = f.post(t, events.ContentTypeBatch, tokenPolitie, batch)
	as = decode[[]answer](t, body)
	if resp.StatusCode != http.StatusAccepted || len(as) != 3 || !as[0].Duplicate || !as[2].Duplicate || as[1].Sequence != 2 {
		t.Fatalf("retry: %d %+v", resp.StatusCode, as)
	}
	// A batch with one stored and one new event stores only the new one.
	resp, body = f.post(t, events.ContentTypeBatch, tokenPolitie, []any{signaal("b-1"), signaal("b-4")})
	as = decode[[]answer](t, body)
	if resp.StatusCode != http.StatusAccepted || !as[0].Duplicate || as[1].Duplicate || as[1].Sequence != 4 {
		t.Fatalf("mixed: %d %+v", resp.StatusCode, as)
	}
	if n := len(f.env.Messages(t, events.StreamEvents)); n != 4 {
		t.Fatalf("%d stored, want 4", n)
	}
}

func TestBevestigingGoesBackToTheSender(t *testing.T) {
	t.Parallel()
	f := start(t)
	bev := map[string]any{
		"specversion": "1.0", "id": "bev-1", "source": sourceGGZ, "type": events.TypeBevestiging,
		"data": map[string]any{"betreft": map[string]any{"source": sourcePolitie, "id": "a-1"}, "status": "opgepakt"},
	}
	if resp, body := f.post(t, events.ContentTypeStructured, tokenGGZ, bev); resp.StatusCode != 202 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	p, err := events.Default().ParseStructured(f.env.Messages(t, events.StreamEvents)[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Event.Extensions()[events.ExtensionOntvanger]; got != "politie" {
		t.Fatalf("ontvanger %v, want politie (owner of betreft.source)", got)
	}
	if got := p.Event.Extensions()[events.ExtensionAfzender]; got != "ggz" {
		t.Fatalf("afzender %v, want ggz, the partner that sent it", got)
	}
	if p.Event.Subject() != "" {
		t.Fatalf("subject %q on an event without bsn", p.Event.Subject())
	}
}

// TestConcurrentBatches: batches of concurrent requests may be stored as
// one atomic batch; every answer must still name its own events' sequences.
func TestConcurrentBatches(t *testing.T) {
	t.Parallel()
	f := start(t)
	const clients, perBatch = 12, 7
	var wg sync.WaitGroup
	answers := make([][]answer, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]any, perBatch)
			for i := range batch {
				batch[i] = signaal(fmt.Sprintf("c%d-%d", c, i))
			}
			// One client sends a batch with an event that another batch
			// also carries: the groups split up, nothing is lost.
			if c == 3 {
				batch[0] = signaal("c2-0")
			}
			resp, body := f.post(t, events.ContentTypeBatch, tokenPolitie, batch)
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("client %d: %d %s", c, resp.StatusCode, body)
				return
			}
			answers[c] = decode[[]answer](t, body)
		}()
	}
	wg.Wait()
	st, err := f.env.JS.Stream(context.Background(), events.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	for c, as := range answers {
		if len(as) != perBatch {
			t.Fatalf("client %d: %d answers", c, len(as))
		}
		for _, a := range as {
			m, err := st.GetMsg(context.Background(), a.Sequence)
			if err != nil {
				t.Fatalf("client %d: sequence %d: %v", c, a.Sequence, err)
			}
			var stored struct{ ID string }
			_ = json.Unmarshal(m.Data, &stored)
			if stored.ID != a.ID {
				t.Fatalf("client %d: sequence %d holds %s, answer says %s", c, a.Sequence, stored.ID, a.ID)
			}
		}
	}
	if n := len(f.env.Messages(t, events.StreamEvents)); n != clients*perBatch-1 {
		t.Fatalf("%d stored, want %d", n, clients*perBatch-1)
	}
}

func TestDuplicateSingleEvent(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("d-1"))
	resp, body := f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("d-1"))
	a := decode[answer](t, body)
	if resp.StatusCode != http.StatusAccepted || !a.Duplicate || a.Sequence != 1 {
		t.Fatalf("%d %+v", resp.StatusCode, a)
	}
	if n := len(f.env.Messages(t, events.StreamEvents)); n != 1 {
		t.Fatalf("%d stored", n)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	withSubject := signaal("r-subj")
	withSubject["subject"] = "iemand"
	foreignSource := signaal("r-src")
	foreignSource["source"] = sourceGGZ
	bevestiging := map[string]any{
		"specversion": "1.0", "id": "r-bev", "source": sourcePolitie, "type": events.TypeBevestiging,
		"data": map[string]any{"betreft": map[string]any{"source": sourceGGZ, "id": "x"}, "status": "opgepakt"},
	}
	unknownOntvanger := aanmelding("r-ontv")
	unknownOntvanger["data"].(map[string]any)["ontvanger"] = "brandweer"
	badBatch := []any{signaal("r-b1"), map[string]any{"specversion": "1.0"}}
	big := signaal("r-big")
	big["data"].(map[string]any)["toelichting"] = strings.Repeat("x", 3000)
	tooMany := make([]any, 6)
	for i := range tooMany {
		tooMany[i] = signaal("r-many-" + string(rune('a'+i)))
	}
	for _, tc := range []struct {
		name        string
		contentType string
		token       string
		body        any
		headers     []string
		status      int
		pointer     string
		retryAfter  bool
	}{
		{"no token", events.ContentTypeStructured, "", signaal("r-1"), nil, 401, "", false},
		{"bad token", events.ContentTypeStructured, "tok-wrong", signaal("r-2"), nil, 401, "", false},
		{"basic auth", events.ContentTypeStructured, "", signaal("r-3"), []string{"Authorization", "Basic " + tokenPolitie}, 401, "", false},
		{"invalid data", events.ContentTypeStructured, tokenPolitie, map[string]any{"specversion": "1.0", "id": "r-4", "source": sourcePolitie, "type": events.TypeSignaal, "data": map[string]any{"bsn": "123456789"}}, nil, 400, "/data/bsn", false},
		{"bsn in subject", events.ContentTypeStructured, tokenPolitie, func() any { s := signaal("r-5"); s["subject"] = testBSN; return s }(), nil, 400, "/subject", false},
		{"subject set by partner", events.ContentTypeStructured, tokenPolitie, withSubject, nil, 400, "/subject", false},
		{"unknown ontvanger", events.ContentTypeStructured, tokenPolitie, unknownOntvanger, nil, 400, "/data/ontvanger", false},
		{"invalid event in batch", events.ContentTypeBatch, tokenPolitie, badBatch, nil, 400, "/1/id", false},
		{"not json", events.ContentTypeStructured, tokenPolitie, []byte("{"), nil, 400, "", false},
		{"source of another partner", events.ContentTypeStructured, tokenPolitie, foreignSource, nil, 403, "/source", false},
		{"type not published", events.ContentTypeStructured, tokenPolitie, bevestiging, nil, 403, "/type", false},
		{"body too large", events.ContentTypeStructured, tokenPolitie, big, nil, 413, "", false},
		{"batch too long", events.ContentTypeBatch, tokenPolitie, tooMany, nil, 413, "", false},
		{"text/plain", "text/plain", tokenPolitie, signaal("r-6"), nil, 415, "", false},
		{"no content type", "", tokenPolitie, signaal("r-7"), nil, 415, "", false},
		{"binary with xml", "application/xml", tokenPolitie, []byte("<x/>"), []string{"ce-specversion", "1.0"}, 415, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := start(t, func(c *gateway.Config) { c.MaxBodyBytes = 2048; c.MaxBatchEvents = 5 })
			resp, body := f.post(t, tc.contentType, tc.token, tc.body, tc.headers...)
			assertProblem(t, resp, body, tc.status, tc.pointer)
			if n := len(f.env.Messages(t, events.StreamEvents)); n != 0 {
				t.Fatalf("%d events stored after a refusal", n)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	// The clock moves only when the test says so.
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	f := start(t, func(c *gateway.Config) { c.Now = func() time.Time { return time.Unix(0, clock.Load()) } })
	src := "urn:nld:oin:00000009999999990003:systeem:regie"
	ev := func(id string) map[string]any { s := signaal(id); s["source"] = src; return s }
	// wijkteam: 1 event/s, bursts of 2.
	for _, id := range []string{"w-1", "w-2"} {
		if resp, body := f.post(t, events.ContentTypeStructured, tokenWijkteam, ev(id)); resp.StatusCode != 202 {
			t.Fatalf("%s: %d %s", id, resp.StatusCode, body)
		}
	}
	resp, body := f.post(t, events.ContentTypeStructured, tokenWijkteam, ev("w-3"))
	assertProblem(t, resp, body, 429, "")
	// A batch larger than the burst can never pass: say so.
	resp, body = f.post(t, events.ContentTypeBatch, tokenWijkteam, []any{ev("w-4"), ev("w-5"), ev("w-6")})
	assertProblem(t, resp, body, 429, "")
	if n := len(f.env.Messages(t, events.StreamEvents)); n != 2 {
		t.Fatalf("%d stored, want 2", n)
	}
	// A second later one token has come back.
	clock.Add(int64(time.Second))
	if resp, body := f.post(t, events.ContentTypeStructured, tokenWijkteam, ev("w-7")); resp.StatusCode != 202 {
		t.Fatalf("after a second: %d %s", resp.StatusCode, body)
	}
	resp, body = f.post(t, events.ContentTypeStructured, tokenWijkteam, ev("w-8"))
	assertProblem(t, resp, body, 429, "")
	// Other partners are not limited by wijkteam's use.
	if resp, body := f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("p-1")); resp.StatusCode != 202 {
		t.Fatalf("politie: %d %s", resp.StatusCode, body)
	}
}

func TestUnavailableWhenJetStreamCannotStore(t *testing.T) {
	t.Parallel()
	f := start(t, func(c *gateway.Config) { c.PublishTimeout = time.Second })
	ctx := context.Background()
	st, err := f.env.JS.Stream(ctx, events.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.MaxMsgs = 2
	if _, err := f.env.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if resp, body := f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("u-1")); resp.StatusCode != 202 {
		t.Fatalf("first: %d %s", resp.StatusCode, body)
	}
	// Room for one more; a batch of three is refused whole.
	resp, body := f.post(t, events.ContentTypeBatch, tokenPolitie, []any{signaal("u-2"), signaal("u-3"), signaal("u-4")})
	p := assertProblem(t, resp, body, 503, "")
	if resp.Header.Get("Retry-After") != "3" || !strings.Contains(p.Detail, "none of them") {
		t.Fatalf("Retry-After %q, detail %q", resp.Header.Get("Retry-After"), p.Detail)
	}
	if n := len(f.env.Messages(t, events.StreamEvents)); n != 1 {
		t.Fatalf("%d stored: the batch was half-stored", n)
	}
	// Stream gone: single events are refused too.
	if err := f.env.JS.DeleteStream(ctx, events.StreamEvents); err != nil {
		t.Fatal(err)
	}
	resp, body = f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("u-5"))
	assertProblem(t, resp, body, 503, "")
	if resp, _ := http.Get(f.srv.URL + "/readyz"); resp.StatusCode != 503 {
		t.Fatalf("readyz %d without EVENTS", resp.StatusCode)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	f := start(t, func(c *gateway.Config) { c.Metrics = reg })
	f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("m-1"))
	f.post(t, events.ContentTypeStructured, "nope", signaal("m-2"))
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ready",
	} {
		resp, err := http.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("%s: %d, want %q in\n%s", path, resp.StatusCode, want, b)
		}
	}
	// The registry counts, for the process's own metrics listener ...
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`ketenbus_gateway_events_total{event="signaal.v1",partner="politie",result="stored"} 1`,
		`ketenbus_gateway_refusals_total{reason="unauthenticated"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("the registry lacks %s:\n%s", want, rec.Body)
		}
	}
	// ... and the partners' port does not serve it.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, f.srv.URL+"/metrics", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assertProblem(t, resp, b, 404, "")
		if strings.Contains(string(b), "ketenbus_gateway") || strings.Contains(string(b), "politie") {
			t.Errorf("%s /metrics on the partners' port shows metrics: %s", method, b)
		}
	}
}

// TestLogsNeverContainPersonalDataOrSecrets sends accepted and refused
// events carrying a known BSN, names and tokens, then searches every
// logged byte.
func TestLogsNeverContainPersonalDataOrSecrets(t *testing.T) {
	t.Parallel()
	f := start(t, func(c *gateway.Config) { c.MaxBodyBytes = 4096 })
	bad := signaal("l-2")
	bad["subject"] = testBSN
	bad["client"] = testBSN
	bad["data"].(map[string]any)["categorie"] = testBSN
	big := signaal("l-3")
	big["data"].(map[string]any)["toelichting"] = strings.Repeat(testBSN, 500)
	f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("l-1"))
	f.post(t, events.ContentTypeStructured, tokenPolitie, bad)
	f.post(t, events.ContentTypeStructured, tokenPolitie, big)
	f.post(t, events.ContentTypeBatch, tokenPolitie, []any{aanmelding("l-4"), bad})
	f.post(t, events.ContentTypeStructured, tokenGGZ, signaal("l-5"))
	f.post(t, events.ContentTypeStructured, tokenPolitie+"x", signaal("l-6"))
	f.post(t, "text/plain", tokenPolitie, signaal("l-7"))
	if err := f.env.JS.DeleteStream(context.Background(), events.StreamEvents); err != nil {
		t.Fatal(err)
	}
	f.post(t, events.ContentTypeStructured, tokenPolitie, signaal("l-8"))
	logs := f.logs.String()
	if !strings.Contains(logs, "request refused") || !strings.Contains(logs, "store events failed") {
		t.Fatalf("the refusals were not logged at all:\n%s", logs)
	}
	for _, secret := range []string{testBSN, tokenPolitie, tokenGGZ, "Wijkagent De Vries", "verward over straat", "050-1234567", string(pseudonymKey)} {
		if strings.Contains(logs, secret) {
			t.Fatalf("log contains %q:\n%s", secret, logs)
		}
	}
}
