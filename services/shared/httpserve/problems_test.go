package httpserve_test

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/testutil/rawhttp"
	"github.com/ketenbus/ketenbus/services/shared/testutil/servetest"
)

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func assertProblem(t *testing.T, resp *http.Response, body string, status int, detail string) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d, content type %q, want %d application/problem+json: %s", resp.StatusCode, resp.Header.Get("Content-Type"), status, body)
	}
	var p problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if p.Status != status || p.Title == "" || !strings.HasPrefix(p.Type, "urn:ketenbus:problem:") || !strings.Contains(p.Detail, detail) {
		t.Fatalf("problem %+v, want status %d and a detail with %q", p, status, detail)
	}
}

// TestTransportAnswersAreProblems: the answers net/http gives itself,
// before any handler, to requests it cannot read come as RFC 9457
// problems with their own status; answers of the handler, plain text
// included, pass unchanged.
func TestTransportAnswersAreProblems(t *testing.T) {
	t.Parallel()
	addr := servetest.Serve(t, &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Connection", "close")
			http.Error(w, "400 Bad Request", http.StatusBadRequest)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    1024,
	})
	for _, tc := range []struct {
		name, raw string
		status    int
		detail    string
	}{
		{"header line without a colon", "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400, "could not be read"},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400, "missing required Host header"},
		{"invalid header name", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400, "invalid header name"},
		{"header too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("a", 8000) + "\r\n\r\n", 431, "header is larger"},
		{"unknown transfer coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: zip\r\n\r\n", 501, "Transfer-Encoding"},
		{"HTTP/2.5", "GET / HTTP/2.5\r\nHost: x\r\n\r\n", 505, "HTTP version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawhttp.Exchange(t, addr, tc.raw)
			assertProblem(t, resp, string(body), tc.status, tc.detail)
		})
	}
	t.Run("the handler's own text answer", func(t *testing.T) {
		resp, body := rawhttp.Exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || string(body) != "400 Bad Request\n" {
			t.Fatalf("status %d %q: %q, want the handler's answer unchanged", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
}

// TestPlainHTTPToTLSIsAProblem: plain HTTP to a server that speaks TLS
// gets a problem saying to use https.
func TestPlainHTTPToTLSIsAProblem(t *testing.T) {
	t.Parallel()
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.StartTLS() // only for its certificate
	cert := ts.TLS.Certificates[0]
	ts.Close()
	addr := servetest.Serve(t, &http.Server{
		Handler:           http.NotFoundHandler(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 5 * time.Second,
	})
	resp, body := rawhttp.Exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	assertProblem(t, resp, string(body), 400, "https://")
}
