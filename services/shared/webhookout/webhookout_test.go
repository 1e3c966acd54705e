package webhookout_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/webhookout"
)

const event = `{"specversion":"1.0","id":"e-1","source":"urn:nld:oin:00000009999999990000:systeem:ketenbus","type":"nl.ketenbus.probe.v1",` +
	`"sequence":42,"naam":"a b\"c%é","datacontenttype":"application/json","data":{"test":true}}`

func TestEncode(t *testing.T) {
	t.Parallel()
	e, err := webhookout.ParseEvent([]byte(event))
	if err != nil {
		t.Fatal(err)
	}
	if e.ID() != "e-1" || e.StringAttr("type") != "nl.ketenbus.probe.v1" || e.StringAttr("sequence") != "" {
		t.Errorf("ID %q, type %q, sequence %q", e.ID(), e.StringAttr("type"), e.StringAttr("sequence"))
	}
	body, h, err := e.Encode(region.ModeStructured)
	if err != nil || string(body) != event || h.Get("Content-Type") != "application/cloudevents+json" {
		t.Errorf("structured: %s %v %v", body, h, err)
	}
	body, h, err = e.Encode(region.ModeBinary)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Content-Type": "application/json", "ce-id": "e-1", "ce-sequence": "42",
		"ce-naam": "a%20b%22c%25%C3%A9", "ce-specversion": "1.0", "ce-datacontenttype": ""}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("binary header %s %q, want %q", k, got, v)
		}
	}
	if string(body) != `{"test":true}` {
		t.Errorf("binary body %s", body)
	}
	for _, bad := range []string{`{}`, `[`, `{"id":""}`, `{"id":7}`} {
		if _, err := webhookout.ParseEvent([]byte(bad)); err != webhookout.ErrUnreadable {
			t.Errorf("ParseEvent(%s) = %v, want ErrUnreadable", bad, err)
		}
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodOptions || r.Header.Get("User-Agent") != "ketenbus" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch o := r.Header.Get(partner.HeaderRequestOrigin); o {
		case "ketenbus.ok":
			w.Header().Set(partner.HeaderAllowedOrigin, o)
			w.Header().Set(partner.HeaderAllowedRate, "120")
		case "ketenbus.star":
			w.Header().Set(partner.HeaderAllowedOrigin, "*")
		case "ketenbus.other":
			w.Header().Set(partner.HeaderAllowedOrigin, "someone.else")
		case "ketenbus.none":
		default:
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	defer srv.Close()
	h := http.Header{"User-Agent": {"ketenbus"}}
	for origin, want := range map[string]string{
		"ketenbus.ok": "", "ketenbus.star": "", "ketenbus.other": "WebHook-Allowed-Origin does not name ketenbus.other",
		"ketenbus.none": "WebHook-Allowed-Origin is missing", "ketenbus.refused": "http 403",
	} {
		a, err := webhookout.Handshake(context.Background(), srv.Client(), srv.URL, origin, h, time.Second)
		if (err == nil) != (want == "") || (err != nil && err.Error() != want) {
			t.Errorf("%s: %v, want %q", origin, err, want)
		}
		if origin == "ketenbus.ok" && (a.Status != 200 || a.AllowedOrigin != origin || a.AllowedRate != "120") {
			t.Errorf("%s: answer %+v", origin, a)
		}
	}

	addr := closedAddr(t)
	if _, err := webhookout.Handshake(context.Background(), http.DefaultClient, "http://"+addr, "x", nil, time.Second); err == nil || err.Error() != "connection refused" {
		t.Errorf("closed port: %v, want connection refused", err)
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	got := webhookout.Excerpt([]byte("bsn 111222333, bsn-8 11222333?\x00 "+strings.Repeat("é", 300)), 41)
	if !strings.HasPrefix(got, "bsn [bsn], bsn-8 11222333?  é") {
		t.Errorf("excerpt %q", got)
	}
	if len(got) > 41 || strings.Contains(got, "111222333") || !strings.HasSuffix(got, "é") {
		t.Errorf("excerpt %q: longer than 41 bytes, a BSN, or a cut rune", got)
	}
}

func TestHeaderSafe(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http 500":                "http 500",
		"a\nb\r\x00c\x1b[2Jd\x7f": "a b  c [2Jd ",
		"é\tö":                    "é ö",
	} {
		if got := webhookout.HeaderSafe(in); got != want {
			t.Errorf("HeaderSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDescribeQuotesNoBSN: a malformed answer quoted by the HTTP client
// reaches the description cleaned and cut, like a body excerpt.
func TestDescribeQuotesNoBSN(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("bsn 999993653 " + strings.Repeat("x", 500) + "\r\n\r\n"))
	}()
	_, err = http.Post("http://"+ln.Addr().String()+"/hook?token=s3cret", "application/json", strings.NewReader("{}"))
	if err == nil {
		t.Fatal("a malformed answer was accepted")
	}
	got := webhookout.Describe(err, time.Second)
	if strings.Contains(got, "999993653") || strings.Contains(got, "s3cret") || len(got) > 200 {
		t.Errorf("Describe = %q, want it without the BSN, the URL's token and at most 200 bytes", got)
	}
	if !strings.Contains(got, "malformed HTTP") {
		t.Errorf("Describe = %q, want it to say the answer was malformed", got)
	}
}

// TestDeliver sends to a real server: the signed request arrives, the
// answer's status, headers, bounded body, Retry-After and problem type
// are read; a request that cannot be built is not sent.
func TestDeliver(t *testing.T) {
	t.Parallel()
	secret, _ := webhook.NewSecret()
	signer, _ := webhook.NewSigner(secret)
	verifier, _ := webhook.NewVerifier([]string{secret})
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 1<<10)
		n, _ := r.Body.Read(body)
		if verifier.Verify(r.Header, body[:n]) != nil || r.Header.Get("User-Agent") != "ketenbus" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/busy":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/down":
			w.Header().Set("Retry-After", now.Add(time.Hour).Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/big":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(strings.Repeat("x", 3*webhookout.MaxAnswerBody)))
		case "/problem":
			w.Header().Set("Content-Type", partner.ContentTypeProblem)
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"type":"` + partner.ProblemRejected + `","status":400}`))
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		}
	}))
	defer srv.Close()
	e, err := webhookout.ParseEvent([]byte(event))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	webhookout.SetCommonHeaders(h, "tok")
	send := func(path string, timeout time.Duration) webhookout.Answer {
		r := webhookout.Request{URL: srv.URL + path, ID: "d-1", Time: time.Now(), Signer: signer, Header: h}
		return webhookout.Deliver(context.Background(), webhookout.NewClient(0), e, r, timeout, func() time.Time { return now })
	}
	if a := send("/", time.Second); a.Status != 200 || a.Local != "" || a.Failure != "" || a.Latency <= 0 {
		t.Errorf("/: %+v, want 200", a)
	}
	if a := send("/busy", time.Second); a.Status != 429 || a.RetryAfter != 2*time.Minute {
		t.Errorf("/busy: status %d, RetryAfter %v, want 429 after 2m", a.Status, a.RetryAfter)
	}
	if a := send("/down", time.Second); a.Status != 503 || a.RetryAfter != time.Hour {
		t.Errorf("/down: status %d, RetryAfter %v, want 503 after 1h", a.Status, a.RetryAfter)
	}
	if a := send("/big", time.Second); a.Status != 400 || len(a.Body) != webhookout.MaxAnswerBody || a.RetryAfter != 0 {
		t.Errorf("/big: status %d, %d bytes of body, RetryAfter %v; want 400, %d bytes, 0", a.Status, len(a.Body), a.RetryAfter, webhookout.MaxAnswerBody)
	}
	if a := send("/problem", time.Second); a.ProblemType() != partner.ProblemRejected {
		t.Errorf("/problem: problem type %q, want %q", a.ProblemType(), partner.ProblemRejected)
	}
	if a := send("/slow", 50*time.Millisecond); a.Status != 0 || a.Failure != "timeout after 50ms" || a.Reason() != a.Failure {
		t.Errorf("/slow: %+v, want a timeout", a)
	}
	if a := send("/\x00", time.Second); a.Local == "" || a.Status != 0 {
		t.Errorf("bad url: %+v, want a local failure", a)
	}

	addr := closedAddr(t)
	r := webhookout.Request{URL: "http://" + addr, ID: "d-1", Time: time.Now(), Signer: signer}
	if a := webhookout.Deliver(context.Background(), http.DefaultClient, e, r, time.Second, time.Now); a.Failure != "connection refused" {
		t.Errorf("closed port: %+v, want connection refused", a)
	}
}

// TestRetryAfter: seconds or an HTTP date; absent, past or unreadable is 0.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "30": 30 * time.Second, " 5 ": 5 * time.Second, "0": 0, "-3": 0, "soon": 0,
		"99999999999": 365 * 24 * time.Hour,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := webhookout.RetryAfter(http.Header{"Retry-After": {v}}, now); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestNewClientFollowsNoRedirect: a redirect is the answer, not followed.
func TestNewClientFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.RedirectHandler("/elsewhere", http.StatusTemporaryRedirect))
	defer srv.Close()
	res, err := webhookout.NewClient(4).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status %d, want the redirect itself", res.StatusCode)
	}
}

// closedAddr returns a local address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
