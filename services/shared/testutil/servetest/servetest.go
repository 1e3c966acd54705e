// Package servetest serves an *http.Server in a test the way the
// services' processes do, with httpserve.Serve on a real listener.
package servetest

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/ketenbus/ketenbus/services/shared/httpserve"
)

// Serve serves srv with httpserve.Serve (over TLS when it has a
// TLSConfig) on a free port of 127.0.0.1 until the test ends, and
// returns the address. The test fails when Serve returns an error.
func Serve(tb testing.TB, srv *http.Server) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- httpserve.Serve(ctx, srv, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}
