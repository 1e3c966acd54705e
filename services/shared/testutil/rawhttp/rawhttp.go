// Package rawhttp sends a request to a server exactly as written, bytes on
// a TCP connection, as a careless or hostile client would: for tests of
// what a server answers to requests net/http's client would never send.
package rawhttp

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Exchange writes raw on a new connection to addr and reads one answer,
// its body read and closed. It fails the test when the server cannot be
// reached or its answer is not HTTP, within 10 seconds.
func Exchange(tb testing.TB, addr, raw string) (*http.Response, []byte) {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}
