package webhookout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/webhook"
)

// ErrLocal is wrapped by every error of [Build] and [Check]: the request
// cannot leave this process, whatever the partner's endpoint does, so
// sending it again cannot help and it says nothing about the endpoint.
var ErrLocal = errors.New("request cannot be sent")

// Request is what a webhook POST is made of besides its event.
type Request struct {
	// URL is the partner's webhook URL.
	URL string
	// Mode is region.ModeBinary, or else structured mode.
	Mode string
	// ID is the webhook-id: the delivery id.
	ID string
	// Time is the webhook-timestamp.
	Time time.Time
	// Signer signs ID, Time and the body.
	Signer *webhook.Signer
	// Header holds the further headers (User-Agent, Authorization,
	// trace context, …); they are copied.
	Header http.Header
}

// Build returns the signed POST of ev in r.Mode, its context ctx, checked
// whole before anything leaves: the event's String attributes (see
// [events.CheckString]: an event with a control character in its id,
// stored by an older gateway, is never sent), the encoding of the mode,
// the URL and every header (see [Check]). The error wraps [ErrLocal] and
// names what is wrong, never a value: not the URL, a header value or an
// attribute.
func Build(ctx context.Context, ev *Event, r Request) (*http.Request, error) {
	if err := ev.checkAttributes(); err != nil {
		return nil, err
	}
	body, header, err := ev.Encode(r.Mode)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLocal, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: invalid webhook url", ErrLocal)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	for k, vs := range r.Header {
		req.Header[k] = slices.Clone(vs)
	}
	r.Signer.SetHeaders(req.Header, r.ID, r.Time, body)
	if err := Check(req); err != nil {
		return nil, err
	}
	return req, nil
}

// Check reports why req cannot be sent, before it is: a URL that is not
// an absolute http or https URL with a host, a header name that is not an
// HTTP token, or a header value that HTTP forbids (a control character
// other than tab, such as a line feed, NUL or escape), which
// [http.Client.Do] would refuse before dialling. The error wraps
// [ErrLocal] and names the header, never its value. It changes nothing
// and does no I/O.
func Check(req *http.Request) error {
	u := req.URL
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: invalid webhook url: not an absolute http or https url", ErrLocal)
	}
	for _, name := range slices.Sorted(maps.Keys(req.Header)) {
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Errorf("%w: a header name is not an HTTP token", ErrLocal)
		}
		for _, v := range req.Header[name] {
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("%w: header %s holds a character HTTP forbids", ErrLocal, name)
			}
		}
	}
	return nil
}

// checkAttributes reports the first String attribute (a context
// attribute or extension given as a JSON string) that CloudEvents forbids.
func (e *Event) checkAttributes() error {
	for _, m := range e.attrs {
		if m.Name == "data" || m.Name == "data_base64" || m.Value.Kind() != '"' {
			continue
		}
		if err := events.CheckString(events.Text(m.Value)); err != nil {
			name := m.Name
			if !validName(name) {
				name = "(invalid name)"
			}
			return fmt.Errorf("%w: event attribute %s: %w", ErrLocal, name, err)
		}
	}
	return nil
}

// validName reports whether an attribute name can be shown: CloudEvents
// names are a-z and 0-9.
func validName(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789") == ""
}
