package partner

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// binaryEvent decodes a binary-mode CloudEvent of the CloudEvents HTTP
// binding: each ce-<name> header, percent-decoded, is the attribute <name>
// (an extension when it is no context attribute), Content-Type is
// datacontenttype and the body is the data. Of a header sent twice the
// first value counts. Only specversion 1.0 is read, the version ketenbus
// sends. The error names the attribute that could not be set; it does not
// check that the required attributes are present (event.Event.Validate
// does).
func binaryEvent(h http.Header, body []byte) (*event.Event, error) {
	e := event.New()
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(h)) {
		vals := h[key]
		name, ok := strings.CutPrefix(strings.ToLower(key), "ce-")
		if !ok || len(vals) == 0 {
			continue
		}
		if err := setBinaryAttribute(e.Context, name, percentDecode(vals[0])); err != nil {
			errs = append(errs, fmt.Errorf("ce-%s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if ct := h.Get("Content-Type"); ct != "" {
		e.SetDataContentType(ct)
	}
	if len(body) > 0 {
		e.DataEncoded = body
	}
	return &e, nil
}

// setBinaryAttribute sets the attribute name, taken from a ce- header, to v.
// Its errors never quote v: a header may carry anything, a BSN too, and
// the error reaches the sender's problem answer.
func setBinaryAttribute(c event.EventContextWriter, name, v string) error {
	switch name {
	case "specversion":
		if v != event.CloudEventsVersionV1 {
			return fmt.Errorf("specversion is not %s", event.CloudEventsVersionV1)
		}
		return nil
	case "id":
		return c.SetID(v)
	case "source":
		return refused(c.SetSource(v), "source is not a URI-reference")
	case "type":
		return c.SetType(v)
	case "subject":
		return c.SetSubject(v)
	case "dataschema":
		return refused(c.SetDataSchema(v), "dataschema is not a URI")
	case "time":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return errors.New("time is not an RFC 3339 timestamp")
		}
		return c.SetTime(t)
	}
	return refused(c.SetExtension(name, v), "not a CloudEvents attribute name (lower-case letters and digits)")
}

// refused replaces err, which may quote the value, by what.
func refused(err error, what string) error {
	if err != nil {
		return errors.New(what)
	}
	return nil
}

// percentDecode decodes the %XX escapes with which the CloudEvents HTTP
// binding encodes ce- header values; a value that is not well-formed is
// kept as it is.
func percentDecode(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}
