package gateway_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
)

// loadConn is a minimal keep-alive HTTP/1.1 client for benchmarks: one
// connection, one request at a time, like a load generator (wrk) and unlike
// net/http's client, which spends as much CPU per request as the server it
// measures, on the same cores.
type loadConn struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	head []byte
}

func dialLoad(tb testing.TB, rawURL, token string) *loadConn {
	tb.Helper()
	hostPort := strings.TrimPrefix(rawURL, "http://")
	hostPort, path, _ := strings.Cut(hostPort, "/")
	c, err := net.Dial("tcp", hostPort)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	head := fmt.Sprintf("POST /%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n", path, hostPort, token)
	return &loadConn{conn: c, r: bufio.NewReaderSize(c, 16<<10), w: bufio.NewWriterSize(c, 64<<10), head: []byte(head)}
}

// post sends one request and returns the status code after reading the
// whole answer.
func (l *loadConn) post(contentType string, body []byte) (int, error) {
	l.w.Write(l.head)
	l.w.WriteString("Content-Type: ")
	l.w.WriteString(contentType)
	l.w.WriteString("\r\nContent-Length: ")
	l.w.WriteString(strconv.Itoa(len(body)))
	l.w.WriteString("\r\n\r\n")
	l.w.Write(body)
	if err := l.w.Flush(); err != nil {
		return 0, err
	}
	tp := textproto.NewReader(l.r)
	line, err := tp.ReadLine()
	if err != nil {
		return 0, err
	}
	_, rest, _ := strings.Cut(line, " ")
	status, _ := strconv.Atoi(rest[:3])
	n := 0
	for {
		h, err := tp.ReadLineBytes()
		if err != nil {
			return 0, err
		}
		if len(h) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(h, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if _, err := l.r.Discard(n); err != nil && err != io.EOF {
		return 0, err
	}
	return status, nil
}
