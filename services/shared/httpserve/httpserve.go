// Package httpserve runs the HTTP servers of the ketenbus processes (the
// gateway, the monitor, the metrics endpoints, the demo sinks) the same
// way: until their context ends, then a graceful stop.
package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout bounds how long Serve lets requests in flight finish.
const ShutdownTimeout = 10 * time.Second

// Serve serves srv on ln until ctx ends, then shuts it down letting
// requests in flight finish (within ShutdownTimeout). A server with a
// TLSConfig (the gateway's, when the region sets gateway.tls) is served
// over TLS. It returns nil after a clean stop.
//
// The answers net/http gives itself to a request it cannot read (400 for
// a malformed request, 431 for a header over MaxHeaderBytes, 501, 505)
// and the 400 to plain HTTP on a TLS server are RFC 9457 problems
// (application/problem+json), as every other refusal of ketenbus; behind
// TLS the former stay net/http's plain text (see problemListener).
func Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	ln = problemListener{ln}
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
