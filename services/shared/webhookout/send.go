package webhookout

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxAnswerBody is how much of an answer's body [Send] keeps in
// [Answer.Body]; what follows is read up to [DrainBody] and discarded.
const MaxAnswerBody = 4 << 10

// maxRetryAfterHeader caps what a Retry-After header is read as.
const maxRetryAfterHeader = 365 * 24 * time.Hour

// NewClient returns the HTTP client webhooks are sent with: it follows no
// redirects (a redirect would carry the signature and the token
// elsewhere) and keeps up to idlePerHost idle connections per endpoint, so
// that many concurrent requests reuse them (0: the default of net/http).
func NewClient(idlePerHost int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if idlePerHost > 0 {
		tr.MaxIdleConnsPerHost = idlePerHost
		tr.MaxIdleConns = 0
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// SetCommonHeaders sets the headers every request to a partner's webhook
// carries: User-Agent, and Authorization: Bearer token when token is not
// empty.
func SetCommonHeaders(h http.Header, token string) {
	h.Set("User-Agent", "ketenbus")
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
}

// Answer is what one webhook request got. It never holds the request, the
// URL or a credential.
type Answer struct {
	// Local, when not empty, says why the request could not be sent (a
	// local failure, see [ErrLocal]); then nothing was sent and every
	// other field is zero.
	Local string
	// Status is the HTTP status; 0 when no answer came.
	Status int
	// Failure says why no answer came (see [Describe]); "" with an answer.
	Failure string
	// Header holds the answer's headers; nil when no answer came.
	Header http.Header
	// Body holds at most [MaxAnswerBody] bytes of the answer's body, as
	// the partner sent them: it may quote a BSN, so show it only through
	// [Excerpt].
	Body []byte
	// RetryAfter is the wait a 429 or 503 answer asked for in Retry-After
	// (seconds or an HTTP date); 0 when absent, unreadable or another
	// status.
	RetryAfter time.Duration
	// Latency is the time from sending the request to the end of reading
	// its answer.
	Latency time.Duration
}

// Reason names the answer in a few words for a log line or a dead letter:
// the local failure, "http <status>", or why no answer came. It never
// holds the body.
func (a Answer) Reason() string {
	switch {
	case a.Local != "":
		return a.Local
	case a.Status == 0:
		return a.Failure
	default:
		return "http " + strconv.Itoa(a.Status)
	}
}

// ProblemType returns the type of an RFC 9457 problem details body (such
// as partner.ProblemInvalidSignature, as a receiver built on events/partner
// answers), or "" when the body is not one.
func (a Answer) ProblemType() string {
	var p struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(a.Body, &p) != nil {
		return ""
	}
	return p.Type
}

// Send makes the request req (built by [Build]) with client, bounded by
// timeout, and reads the answer: the status, the headers, the first
// [MaxAnswerBody] bytes of the body and the Retry-After of a 429 or 503
// (read against now). The rest of the body is drained up to [DrainBody] so
// the connection can be reused. A request that got no answer (a timeout, a
// refused connection, ctx ending) has Status 0 and Failure saying why.
// Send does not log and never fails otherwise.
func Send(ctx context.Context, client *http.Client, req *http.Request, timeout time.Duration, now func() time.Time) Answer {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	res, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return Answer{Failure: Describe(err, timeout), Latency: time.Since(start)}
	}
	defer res.Body.Close()
	a := Answer{Status: res.StatusCode, Header: res.Header}
	a.Body, _ = io.ReadAll(io.LimitReader(res.Body, MaxAnswerBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, DrainBody))
	a.Latency = time.Since(start)
	if a.Status == http.StatusTooManyRequests || a.Status == http.StatusServiceUnavailable {
		a.RetryAfter = RetryAfter(res.Header, now())
	}
	return a
}

// Deliver builds the request of ev as r says (see [Build]) and sends it
// (see [Send]) with client within timeout. A request that cannot be built
// is not sent: the answer's Local says why.
func Deliver(ctx context.Context, client *http.Client, ev *Event, r Request, timeout time.Duration, now func() time.Time) Answer {
	req, err := Build(ctx, ev, r)
	if err != nil {
		return Answer{Local: err.Error()}
	}
	return Send(ctx, client, req, timeout, now)
}

// RetryAfter parses a Retry-After header: delay-seconds or an HTTP date
// after now. It returns 0 when the header is absent or unreadable, and at
// most a year.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(maxRetryAfterHeader/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfterHeader)
	}
	return 0
}
