package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/testutil/rawhttp"
)

// binaryRequest is a binary-mode POST of a signaal with the given ce-
// header lines (each "name: value"), as sent on the wire.
func binaryRequest(addr string, ceLines ...string) string {
	data := `{"bsn":"111222333","categorie":"overlast","urgentie":"laag","contactpersoon":{"naam":"A"}}`
	return fmt.Sprintf("POST /v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"ce-specversion: 1.0\r\nce-source: %s\r\nce-type: %s\r\n%s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		addr, tokenPolitie, sourcePolitie, events.TypeSignaal, strings.Join(ceLines, "\r\n"), len(data), data)
}

// TestBinaryHeadersAreUnambiguous: an attribute header sent twice (the
// same spelling twice, or two spellings HTTP names alike) and one that
// percent-decodes to bytes that are not UTF-8 are refused with a pointer
// at the attribute; nothing is stored. A well-formed request passes.
func TestBinaryHeadersAreUnambiguous(t *testing.T) {
	t.Parallel()
	f := start(t)
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	for _, tc := range []struct {
		name    string
		lines   []string
		status  int
		pointer string
		detail  string
	}{
		{"ce-id twice", []string{"ce-id: bin-1", "ce-id: bin-2"}, 400, "/id", "appears 2 times"},
		{"ce-id and Ce-Id", []string{"ce-id: bin-3", "Ce-Id: bin-4"}, 400, "/id", "appears 2 times"},
		{"extension twice", []string{"ce-id: bin-5", "ce-prioriteit: hoog", "CE-PRIORITEIT: laag"}, 400, "/prioriteit", "appears 2 times"},
		{"percent-encoded latin-1", []string{"ce-id: bin-%E9t%E9"}, 400, "/id", "not UTF-8"},
		{"percent-encoded lone continuation byte", []string{"ce-id: bin-6", "ce-prioriteit: %80"}, 400, "/prioriteit", "not UTF-8"},
		{"well-formed, UTF-8 percent-encoded", []string{"ce-id: bin-%C3%A9t%C3%A9"}, 202, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.env.Messages(t, events.StreamEvents))
			resp, body := rawhttp.Exchange(t, addr, binaryRequest(addr, tc.lines...))
			if tc.status == 202 {
				if resp.StatusCode != 202 || decode[answer](t, body).ID != "bin-été" {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				return
			}
			p := assertProblem(t, resp, body, tc.status, tc.pointer)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
			}
			if n := len(f.env.Messages(t, events.StreamEvents)); n != before {
				t.Fatalf("%d events stored after a refusal", n-before)
			}
		})
	}
}

// TestCharsetOtherThanUTF8IsRefused: in every mode a charset other than
// UTF-8 is a 415 that says what to send; charset=utf-8 (any case) is
// accepted.
func TestCharsetOtherThanUTF8IsRefused(t *testing.T) {
	t.Parallel()
	f := start(t)
	for _, tc := range []struct {
		name, contentType string
		body              any
		headers           []string
		status            int
	}{
		{"structured latin-1", events.ContentTypeStructured + "; charset=iso-8859-1", signaal("cs-1"), nil, 415},
		{"batch utf-16", events.ContentTypeBatch + "; charset=UTF-16", []any{signaal("cs-2")}, nil, 415},
		{"binary windows-1252", "application/json; charset=windows-1252", signaal("cs-3")["data"],
			[]string{"ce-specversion", "1.0", "ce-id", "cs-3", "ce-source", sourcePolitie, "ce-type", events.TypeSignaal}, 415},
		{"structured utf-8", events.ContentTypeStructured + "; charset=UTF-8", signaal("cs-4"), nil, 202},
		{"binary utf-8", "application/json; charset=utf-8", signaal("cs-5")["data"],
			[]string{"ce-specversion", "1.0", "ce-id", "cs-5", "ce-source", sourcePolitie, "ce-type", events.TypeSignaal}, 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.post(t, tc.contentType, tokenPolitie, tc.body, tc.headers...)
			if tc.status == 202 {
				if resp.StatusCode != 202 {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				return
			}
			p := assertProblem(t, resp, body, tc.status, "")
			mt := strings.SplitN(tc.contentType, ";", 2)[0]
			if !strings.Contains(p.Detail, "UTF-8") || !strings.Contains(p.Detail, mt+"; charset=utf-8") {
				t.Errorf("detail %q does not say to send %s; charset=utf-8", p.Detail, mt)
			}
		})
	}
}

// TestSameIDTwiceInABatch: the same source and id twice in one batch with
// other content is refused with pointers at both events, nothing stored;
// the same event twice (its data spaced and ordered otherwise) is stored
// once, the second answered as its duplicate.
func TestSameIDTwiceInABatch(t *testing.T) {
	t.Parallel()
	f := start(t)
	other := signaal("dup-1")
	other["data"].(map[string]any)["urgentie"] = "laag"
	resp, body := f.post(t, events.ContentTypeBatch, tokenPolitie, []any{signaal("dup-1"), signaal("dup-2"), other})
	p := assertProblem(t, resp, body, 400, "/0/id")
	assertProblem(t, resp, body, 400, "/2/id")
	if !strings.Contains(p.Detail, "events 0 and 2") {
		t.Errorf("detail %q does not name both events", p.Detail)
	}
	if n := len(f.env.Messages(t, events.StreamEvents)); n != 0 {
		t.Fatalf("%d events stored after a refusal", n)
	}

	same := fmt.Sprintf(`[%s, %s, {"data": {"urgentie": "hoog", "contactpersoon": {"telefoon": "050-1234567", "naam": "Wijkagent De Vries"},
		"toelichting": "Man loopt verward over straat", "categorie": "verward-gedrag", "bsn": %q},
		"time": %q, "type": %q, "source": %q, "id": "dup-1", "specversion": "1.0"}]`,
		mustJSON(t, signaal("dup-1")), mustJSON(t, signaal("dup-2")), testBSN, loggedAt, events.TypeSignaal, sourcePolitie)
	resp, body = f.post(t, events.ContentTypeBatch, tokenPolitie, []byte(same))
	if resp.StatusCode != 202 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := decode[[]answer](t, body)
	if len(got) != 3 || got[0].Duplicate || got[1].Duplicate || !got[2].Duplicate || got[2].Sequence != got[0].Sequence || got[2].ID != "dup-1" {
		t.Fatalf("answers %+v, want dup-1 stored, dup-2 stored, dup-1 again a duplicate of the first", got)
	}
	if n := len(f.env.Messages(t, events.StreamEvents)); n != 2 {
		t.Fatalf("%d events stored, want 2", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUnknownPathsAndMethodsAreProblems: a path the gateway does not serve
// is a 404 problem, a method its path does not take a 405 problem with
// Allow.
func TestUnknownPathsAndMethodsAreProblems(t *testing.T) {
	t.Parallel()
	f := start(t)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/", 404, ""},
		{http.MethodPost, "/v2/events", 404, ""},
		{http.MethodGet, "/v1/events/x", 404, ""},
		{http.MethodPost, "/healthz", 405, "GET, HEAD"},
		{http.MethodDelete, "/readyz", 405, "GET, HEAD"},
		{http.MethodGet, "/v1/events", 405, "POST"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, f.srv.URL+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assertProblem(t, resp, body, tc.status, "")
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

// TestTimeIsBounded: an event's time more than a day ahead of the
// gateway's clock (the default of gateway.max_time_ahead), or older than
// its type's retention, is refused at /time with a message that says the
// bound; in a batch, at the event's index. A time within both passes.
func TestTimeIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Now()
	f := start(t, func(c *gateway.Config) { c.Now = func() time.Time { return now } })
	at := func(id string, tm time.Time) map[string]any {
		s := signaal(id)
		s["time"] = tm.Format(time.RFC3339Nano)
		return s
	}
	for _, tc := range []struct {
		name   string
		ev     map[string]any
		detail string
	}{
		{"year 9999", at("t-1", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)), "more than 1 day ahead"},
		{"a day and a minute ahead", at("t-2", now.Add(24*time.Hour+time.Minute)), "more than 1 day ahead"},
		{"1900", at("t-3", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)), "more than 730 days ago"},
		{"a day past the signaal retention", at("t-4", now.Add(-731*24*time.Hour)), "more than 730 days ago"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.post(t, events.ContentTypeStructured, tokenPolitie, tc.ev)
			p := assertProblem(t, resp, body, 400, "/time")
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
			}
		})
	}
	resp, body := f.post(t, events.ContentTypeBatch, tokenPolitie, []any{signaal("t-5"), at("t-6", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))})
	assertProblem(t, resp, body, 400, "/1/time")
	if n := len(f.env.Messages(t, events.StreamEvents)); n != 0 {
		t.Fatalf("%d events stored after refusals", n)
	}
	for i, tm := range []time.Time{now.Add(23 * time.Hour), now.Add(-729 * 24 * time.Hour)} {
		if resp, body := f.post(t, events.ContentTypeStructured, tokenPolitie, at(fmt.Sprintf("t-ok-%d", i), tm)); resp.StatusCode != 202 {
			t.Errorf("time %s: status %d: %s", tm, resp.StatusCode, body)
		}
	}
}

// TestTimeAheadIsARegionKey: gateway.max_time_ahead sets the allowance.
func TestTimeAheadIsARegionKey(t *testing.T) {
	t.Parallel()
	f := start(t, func(c *gateway.Config) { c.Region.Gateway.MaxTimeAhead = 5 * time.Minute })
	ev := signaal("ta-1")
	ev["time"] = time.Now().Add(10 * time.Minute).Format(time.RFC3339)
	resp, body := f.post(t, events.ContentTypeStructured, tokenPolitie, ev)
	p := assertProblem(t, resp, body, 400, "/time")
	if !strings.Contains(p.Detail, "more than 5m0s ahead") {
		t.Errorf("detail %q does not say the allowance", p.Detail)
	}
}

// TestAfzenderIsTheSendingPartner: every stored event names the partner
// that sent it in afzender, so whoever receives a bevestiging can tell
// whether it comes from the aanmelding's ontvanger; a partner cannot
// claim to be another.
func TestAfzenderIsTheSendingPartner(t *testing.T) {
	t.Parallel()
	f := start(t)
	// ggz answers an aanmelding of politie it may not be the ontvanger of:
	// politie receives it, with ggz as its afzender.
	bev := func(id, afzender string) map[string]any {
		ev := map[string]any{
			"specversion": "1.0", "id": id, "source": sourceGGZ, "type": events.TypeBevestiging,
			"data": map[string]any{"betreft": map[string]any{"source": sourcePolitie, "id": "a-1", "type": events.TypeAanmelding}, "status": "opgepakt"},
		}
		if afzender != "" {
			ev[events.ExtensionAfzender] = afzender
		}
		return ev
	}
	resp, body := f.post(t, events.ContentTypeStructured, tokenGGZ, bev("bev-a", "wijkteam"))
	assertProblem(t, resp, body, 400, "/afzender")
	for _, ev := range []map[string]any{bev("bev-b", "ggz"), signaal("s-afz")} {
		token := tokenGGZ
		if ev["type"] == events.TypeSignaal {
			token = tokenPolitie
		}
		if resp, body := f.post(t, events.ContentTypeStructured, token, ev); resp.StatusCode != 202 {
			t.Fatalf("%s: %d %s", ev["id"], resp.StatusCode, body)
		}
	}
	want := map[string]string{"bev-b": "ggz", "s-afz": "politie"}
	for _, m := range f.env.Messages(t, events.StreamEvents) {
		var ev map[string]any
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if got := ev[events.ExtensionAfzender]; got != want[ev["id"].(string)] {
			t.Errorf("%s: afzender %v, want %s", ev["id"], got, want[ev["id"].(string)])
		}
	}
}
