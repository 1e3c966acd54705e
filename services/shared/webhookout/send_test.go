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
	"github.com/ketenbus/ketenbus/services/shared/webhookout"
)

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

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
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
