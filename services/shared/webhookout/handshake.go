package webhookout

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ketenbus/ketenbus/events/partner"
)

// DrainBody is how much of a response body is read and discarded so the
// connection can be reused.
const DrainBody = 64 << 10

// HandshakeAnswer is what the endpoint answered to the handshake; Status
// is 0 when no answer came.
type HandshakeAnswer struct {
	Status        int
	AllowedOrigin string
	AllowedRate   string
}

// Handshake sends one OPTIONS request to url with WebHook-Request-Origin
// (the header names are those of the receiver, events/partner)
// origin and the headers in header (such as User-Agent and Authorization),
// bounded by timeout, and returns nil when the endpoint allows deliveries
// from origin: a 2xx answer whose WebHook-Allowed-Origin is origin or "*".
// The error text names the status or the missing permission, never a body.
func Handshake(ctx context.Context, client *http.Client, url, origin string, header http.Header, timeout time.Duration) (HandshakeAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, url, nil)
	if err != nil {
		return HandshakeAnswer{}, errors.New("request not built: invalid webhook url")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set(partner.HeaderRequestOrigin, origin)
	res, err := client.Do(req)
	if err != nil {
		return HandshakeAnswer{}, errors.New(Describe(err, timeout))
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, DrainBody))
	a := HandshakeAnswer{Status: res.StatusCode, AllowedOrigin: res.Header.Get(partner.HeaderAllowedOrigin), AllowedRate: res.Header.Get(partner.HeaderAllowedRate)}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return a, errors.New("http " + strconv.Itoa(res.StatusCode))
	}
	switch a.AllowedOrigin {
	case origin, "*":
		return a, nil
	case "":
		return a, errors.New(partner.HeaderAllowedOrigin + " is missing")
	default:
		return a, errors.New(partner.HeaderAllowedOrigin + " does not name " + origin)
	}
}
