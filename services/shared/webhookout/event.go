package webhookout

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// Content types of the CloudEvents HTTP binding.
const (
	contentTypeStructured = "application/cloudevents+json"
	contentTypeJSON       = "application/json"
)

// ErrUnreadable means a body is not a structured CloudEvent that can be
// sent. Its text holds nothing of the body.
var ErrUnreadable = errors.New("delivery unreadable: not a structured CloudEvent with an id")

// Event is a structured CloudEvent split into what a request needs. It is
// immutable and safe for concurrent use.
type Event struct {
	raw   []byte
	attrs []events.Member
	id    string
}

// ParseEvent reads a structured CloudEvent as the router wrote it onto
// DELIVERY: member names are not checked for duplicates again (see
// events.Members). The error is ErrUnreadable when body is not a
// JSON object with a non-empty string id.
func ParseEvent(body []byte) (*Event, error) {
	attrs, err := events.Members(body)
	if err != nil {
		return nil, ErrUnreadable
	}
	e := &Event{raw: body, attrs: attrs, id: events.LookupText(attrs, "id")}
	if e.id == "" {
		return nil, ErrUnreadable
	}
	return e, nil
}

// ID returns the event id. The webhook-id of its requests is the delivery
// id, not this.
func (e *Event) ID() string { return e.id }

// StringAttr returns a string attribute, or "" when it is absent or not a
// string.
func (e *Event) StringAttr(name string) string {
	return events.LookupText(e.attrs, name)
}

// Encode returns the request body and CloudEvents headers for a webhook
// in mode (region.ModeBinary, else structured). The error is
// ErrUnreadable when binary mode cannot carry the event.
func (e *Event) Encode(mode string) ([]byte, http.Header, error) {
	if mode == region.ModeBinary {
		return e.Binary()
	}
	body, h := e.Structured()
	return body, h, nil
}

// Structured returns the request body and Content-Type of structured
// mode: the event as it was parsed.
func (e *Event) Structured() ([]byte, http.Header) {
	h := http.Header{}
	h.Set("Content-Type", contentTypeStructured)
	return e.raw, h
}

// Binary returns the request body and headers of binary mode: data as the
// body, datacontenttype as Content-Type (application/json when absent),
// every other attribute as a percent-encoded ce- header. The error is
// ErrUnreadable for an attribute that is not a scalar or data_base64 that
// is not base64.
func (e *Event) Binary() ([]byte, http.Header, error) {
	h := http.Header{}
	attrs := slices.SortedFunc(slices.Values(e.attrs), func(a, b events.Member) int { return strings.Compare(a.Name, b.Name) })
	for _, m := range attrs {
		switch m.Name {
		case "data", "data_base64", "datacontenttype":
			continue
		}
		v, ok, err := attrText(m.Value)
		if err != nil {
			return nil, nil, ErrUnreadable
		}
		if ok {
			h.Set("ce-"+m.Name, percentEncode(v))
		}
	}
	ct := e.StringAttr("datacontenttype")
	var body []byte
	dataBase64, data := events.Lookup(e.attrs, "data_base64"), events.Lookup(e.attrs, "data")
	switch {
	case len(dataBase64) > 0 && string(dataBase64) != "null":
		if dataBase64.Kind() != '"' {
			return nil, nil, ErrUnreadable
		}
		b, err := base64.StdEncoding.DecodeString(events.Text(dataBase64))
		if err != nil {
			return nil, nil, ErrUnreadable
		}
		body = b
	case len(data) > 0:
		if ct != "" && !isJSON(ct) && data[0] == '"' {
			// Non-JSON data is carried as a JSON string in the JSON format.
			body = []byte(events.Text(data))
		} else {
			body = bytes.Clone(data)
		}
		if ct == "" {
			ct = contentTypeJSON
		}
	}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	return body, h, nil
}

// attrText returns the canonical string of a context attribute value:
// strings as they are, numbers and booleans as written. ok is false for
// null.
func attrText(raw jsontext.Value) (string, bool, error) {
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", false, nil
	case raw[0] == '"':
		return events.Text(raw), true, nil
	case raw[0] == '{' || raw[0] == '[':
		return "", false, errors.New("attribute is not a scalar")
	default:
		return string(raw), true, nil
	}
}

// percentEncode encodes a header value as the CloudEvents HTTP binding
// prescribes: space, double quote, percent and every byte outside printable
// ASCII (U+0021 to U+007E) as %XX of its UTF-8 encoding.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == '"' || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == contentTypeJSON || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
