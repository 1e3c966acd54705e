package httpserve

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/ketenbus/ketenbus/events/partner"
)

// problemListener hands out connections that turn the answers net/http
// writes itself, before any handler runs, into RFC 9457 problems.
//
// For a request it cannot read (a malformed request line or header, a
// header larger than MaxHeaderBytes, an unsupported transfer coding or
// HTTP version) net/http writes a fixed plain-text answer straight to the
// connection and closes it; no hook of the server sees it. Go 1.26 offers
// no way to change those answers, so these connections recognise them by
// their exact form (a status line followed at once by "Content-Type:
// text/plain; charset=utf-8" and "Connection: close", a form no answer of
// a handler has, since every one carries a Date) and write the same status
// as application/problem+json instead. The same holds for the plain-HTTP
// request to a TLS server, which crypto/tls's server answers below TLS.
//
// Behind TLS the other answers are encrypted before they reach the
// connection and stay as net/http writes them. HTTP/2 is not affected:
// its errors are frames, not text.
type problemListener struct{ net.Listener }

func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &problemConn{Conn: c}, nil
}

// problemConn is a connection of problemListener.
type problemConn struct{ net.Conn }

// transportErrorHeaders is what net/http's server writes after the status
// line of its own answers (server.go, conn.serve).
const transportErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// plainHTTPToTLS is crypto/tls's answer to a plain-HTTP request (as
// net/http's Server.ServeTLS writes it).
const plainHTTPToTLS = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

func (c *problemConn) Write(b []byte) (int, error) {
	if p, ok := transportProblem(b); ok {
		if _, err := c.Conn.Write(p); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// CloseWrite half-closes the connection when it can, as net/http does
// after a 431 so the client reads the answer before the connection ends.
func (c *problemConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// transportProblem returns the problem answer that replaces b, when b is
// one of net/http's (or crypto/tls's) own plain-text answers.
func transportProblem(b []byte) ([]byte, bool) {
	if bytes.Equal(b, []byte(plainHTTPToTLS)) {
		return problemAnswer("HTTP/1.0", http.StatusBadRequest, "https-required",
			"this server speaks HTTPS only: send the request to its https:// address"), true
	}
	rest, ok := bytes.CutPrefix(b, []byte("HTTP/1.1 "))
	if !ok {
		return nil, false
	}
	statusLine, body, ok := bytes.Cut(rest, []byte(transportErrorHeaders))
	if !ok || bytes.ContainsAny(statusLine, "\r\n") || len(statusLine) < 3 {
		return nil, false
	}
	code, err := strconv.Atoi(string(statusLine[:3]))
	if err != nil || code < 400 {
		return nil, false
	}
	// The body is net/http's own text, such as "400 Bad Request: invalid
	// header name"; what comes after the status text names the mistake.
	detail := "the request is not valid HTTP/1.1 and could not be read"
	reason := "malformed-request"
	switch code {
	case http.StatusRequestHeaderFieldsTooLarge:
		reason, detail = "header-too-large", "the request header is larger than this server accepts; send a smaller header"
	case http.StatusNotImplemented:
		reason, detail = "not-implemented", "the request's Transfer-Encoding is not supported; send the body with Content-Length or chunked"
	case http.StatusHTTPVersionNotSupported:
		reason, detail = "http-version", "the request's HTTP version is not supported; use HTTP/1.1 or HTTP/2"
	default:
		if _, what, ok := strings.Cut(string(body), ": "); ok {
			detail = "the request could not be read: " + what
		}
	}
	return problemAnswer("HTTP/1.1", code, reason, detail), true
}

// problemAnswer writes a whole HTTP answer with an RFC 9457 problem that
// closes the connection.
func problemAnswer(proto string, code int, reason, detail string) []byte {
	body, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{partner.ProblemTypePrefix + reason, http.StatusText(code), code, detail})
	body = append(body, '\n')
	var b bytes.Buffer
	b.WriteString(proto + " " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
	b.WriteString("Content-Type: " + partner.ContentTypeProblem + "\r\nCache-Control: no-store\r\nConnection: close\r\n")
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}
