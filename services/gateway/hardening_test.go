package gateway_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/servetest"
)

// TestTokenSHA256 runs a partner configured with token_sha256_env only:
// the gateway holds the hash, the partner sends the token.
func TestTokenSHA256(t *testing.T) {
	t.Parallel()
	hash := strings.ToUpper(sha256Hex(tokenPolitie))
	g, nats, logs := newGateway(t, regionText(t, "hashed-token-region.yaml"), map[string]string{"KETENBUS_TOKEN_SHA256_POLITIE": hash})
	url := "http://" + servetest.Serve(t, g.Server())
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"the token whose hash is configured", tokenPolitie, http.StatusAccepted},
		{"another token", tokenGGZ, http.StatusUnauthorized},
		{"the hash itself", hash, http.StatusUnauthorized},
		{"the hash in lower case", strings.ToLower(hash), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, err := postEvent(t, http.DefaultClient, url, tc.token, signaal("h-"+tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if tc.status == http.StatusAccepted {
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
				return
			}
			assertProblem(t, resp, body, tc.status, "")
			if bytes.Contains(body, []byte(tc.token)) {
				t.Fatalf("the answer echoes the token: %s", body)
			}
		})
	}
	msgs := nats.Messages(t, events.StreamEvents)
	if len(msgs) != 1 || msgs[0].Subject != "ketenbus.events.signaal.v1.politie" {
		t.Fatalf("%d events stored, want one of politie", len(msgs))
	}
	for _, secret := range []string{tokenPolitie, tokenGGZ, strings.ToLower(hash), hash} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("log contains %q", secret)
		}
	}
}

// TestServerLimits checks that Server takes its header limit and timeouts
// from the region, and that a real server enforces them on real
// connections.
func TestServerLimits(t *testing.T) {
	t.Parallel()
	g, nats, _ := newGateway(t, regionText(t, "limits-region.yaml"), map[string]string{"KETENBUS_TOKEN_POLITIE": tokenPolitie})
	srv := g.Server()
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"MaxHeaderBytes", srv.MaxHeaderBytes, 2048},
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout, 200 * time.Millisecond},
		{"ReadTimeout", srv.ReadTimeout, time.Second},
		{"WriteTimeout", srv.WriteTimeout, 3 * time.Second},
		{"IdleTimeout", srv.IdleTimeout, 300 * time.Millisecond},
		{"TLSConfig without gateway.tls", srv.TLSConfig == nil, true},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	addr := servetest.Serve(t, srv)
	url := "http://" + addr

	t.Run("header within max_header_bytes", func(t *testing.T) {
		resp, body, err := postEvent(t, http.DefaultClient, url, tokenPolitie, signaal("lim-1"), "X-Pad", strings.Repeat("a", 1500))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})

	t.Run("header over max_header_bytes gets 431", func(t *testing.T) {
		// net/http reads up to MaxHeaderBytes+4096 bytes ("bufio slop")
		// on a new connection; on a kept-alive one another 4096 bytes
		// it peeked while waiting for the request.
		fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		for _, tc := range []struct {
			client *http.Client
			pad    int
		}{
			{fresh, 2048 + 4096 + 1},
			{http.DefaultClient, 2048 + 8192 + 1},
		} {
			resp, body, err := postEvent(t, tc.client, url, tokenPolitie, signaal("lim-2"), "X-Pad", strings.Repeat("a", tc.pad))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("header of %d bytes: status %d %s, want a 431 problem: %s", tc.pad, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
	})

	t.Run("slow header is cut off after read_header_timeout", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := io.WriteString(conn, "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		trickle(t, conn, "x") // the header never ends in time
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(make([]byte, 512))
		elapsed := time.Since(start)
		var ne net.Error
		if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
			t.Fatalf("read %d bytes, %v after %s; want the server to hang up without an answer", n, err, elapsed)
		}
		if elapsed < 200*time.Millisecond || elapsed > 2*time.Second {
			t.Fatalf("cut off after %s, want about 200ms", elapsed)
		}
	})

	t.Run("slow body is cut off after read_timeout", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		fmt.Fprintf(conn, "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n{",
			tokenPolitie, events.ContentTypeStructured)
		trickle(t, conn, " ")
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("after %s: %v", elapsed, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || elapsed < 900*time.Millisecond || elapsed > 3*time.Second {
			t.Fatalf("status %d after %s, want 400 after about 1s", resp.StatusCode, elapsed)
		}
	})

	t.Run("idle connection is closed after idle_timeout", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		idle := time.Now()
		_, err = br.ReadByte()
		elapsed := time.Since(idle)
		if !errors.Is(err, io.EOF) || elapsed < 250*time.Millisecond || elapsed > 2*time.Second {
			t.Fatalf("%v after %s idle, want EOF after about 300ms", err, elapsed)
		}
	})

	if n := len(nats.Messages(t, events.StreamEvents)); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
}

// trickle writes b to conn every 50ms for 4s, as a slow client does,
// and closes conn when the test ends.
func trickle(t *testing.T, conn net.Conn, b string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 80 {
			time.Sleep(50 * time.Millisecond)
			if _, err := io.WriteString(conn, b); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
}

// TestServerDefaultsForZeroLimits: a region built in code with zero
// gateway keys still gets bounded timeouts, never the unbounded zero.
func TestServerDefaultsForZeroLimits(t *testing.T) {
	t.Parallel()
	reg, err := region.Load("testdata/region.yaml")
	if err != nil {
		t.Fatal(err)
	}
	zero := *reg
	zero.Gateway = region.Gateway{}
	g, err := gateway.New(gateway.Config{
		Region:    &zero,
		Secrets:   region.Secrets{PseudonymKey: pseudonymKey, EncryptionKeys: fieldKeys},
		JetStream: natstest.Start(t).JS,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	srv := g.Server()
	if srv.MaxHeaderBytes != region.DefaultGatewayMaxHeaderBytes || srv.ReadHeaderTimeout != region.DefaultReadHeaderTimeout ||
		srv.ReadTimeout != region.DefaultReadTimeout || srv.WriteTimeout != region.DefaultWriteTimeout || srv.IdleTimeout != region.DefaultIdleTimeout {
		t.Fatalf("limits %d %s %s %s %s, want the region defaults",
			srv.MaxHeaderBytes, srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
}
