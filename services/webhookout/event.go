package webhookout

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/ketenbus/ketenbus/services/region"
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
	attrs map[string]json.RawMessage
	id    string
}

// ParseEvent reads a structured CloudEvent. The error is ErrUnreadable
// when body is not a JSON object with a non-empty string id.
func ParseEvent(body []byte) (*Event, error) {
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(body, &attrs); err != nil {
		return nil, ErrUnreadable
	}
	e := &Event{raw: body, attrs: attrs}
	if err := json.Unmarshal(attrs["id"], &e.id); err != nil || e.id == "" {
		return nil, ErrUnreadable
	}
	return e, nil
}

// ID returns the event id, also the webhook-id of its requests.
func (e *Event) ID() string { return e.id }

// StringAttr returns a string attribute, or "" when it is absent or not a
// string.
func (e *Event) StringAttr(name string) string {
	var s string
	if raw, ok := e.attrs[name]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
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
	names := make([]string, 0, len(e.attrs))
	for name := range e.attrs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch name {
		case "data", "data_base64", "datacontenttype":
			continue
		}
		v, ok, err := attrText(e.attrs[name])
		if err != nil {
			return nil, nil, ErrUnreadable
		}
		if ok {
			h.Set("ce-"+name, percentEncode(v))
		}
	}
	ct := e.StringAttr("datacontenttype")
	var body []byte
	switch {
	case len(e.attrs["data_base64"]) > 0 && string(e.attrs["data_base64"]) != "null":
		var s string
		if err := json.Unmarshal(e.attrs["data_base64"], &s); err != nil {
			return nil, nil, ErrUnreadable
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, nil, ErrUnreadable
		}
		body = b
	case len(e.attrs["data"]) > 0:
		data := e.attrs["data"]
		if ct != "" && !isJSON(ct) && data[0] == '"' {
			// Non-JSON data is carried as a JSON string in the JSON format.
			var s string
			if err := json.Unmarshal(data, &s); err != nil {
				return nil, nil, ErrUnreadable
			}
			body = []byte(s)
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
func attrText(raw json.RawMessage) (string, bool, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", false, nil
	case raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err == nil, err
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
