package webhookout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/ketenbus/ketenbus/events"
)

// Describe says in a few words why a request with this timeout got no
// answer: "timeout after 10s", "connection refused", "dns lookup failed:
// …". It never holds a body, nor the URL (which may carry a query the
// partner considers secret), nor a BSN the partner's answer quoted.
func Describe(err error, timeout time.Duration) string {
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &te) && te.Timeout()):
		return "timeout after " + timeout.String()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without a response"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "dns lookup failed: " + dns.Err
	}
	// What is left may quote bytes the partner sent ("malformed HTTP
	// response …"): cut and cleaned as a body excerpt.
	var ue *url.Error
	if errors.As(err, &ue) {
		return Excerpt([]byte(fmt.Sprint(ue.Err)), maxDescribe)
	}
	return Excerpt([]byte(err.Error()), maxDescribe)
}

// maxDescribe bounds what Describe quotes of an error.
const maxDescribe = 200

// HeaderSafe returns s with every control character (C0 and DEL) replaced
// by a space, so that it fits a NATS or HTTP header value. It replaces
// nothing else: a text that may quote a BSN goes through [Excerpt].
func HeaderSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// Excerpt returns at most max bytes of a response body, fit to show or to
// keep in a NATS header: every BSN replaced by "[bsn]", control characters
// by spaces, invalid UTF-8 dropped. The BSNs are replaced before cutting,
// so the cut never leaves a BSN partly visible under the length of one.
func Excerpt(body []byte, max int) string {
	s := HeaderSafe(events.RedactBSNs(strings.ToValidUTF8(string(body), "")))
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return strings.TrimSpace(s)
}
