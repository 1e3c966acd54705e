package adapter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"
)

// Content types of the CloudEvents HTTP binding.
const (
	contentTypeStructured = "application/cloudevents+json"
	contentTypeJSON       = "application/json"
)

// errUnreadable means a delivery body is not a structured CloudEvent the
// adapter can send. Its text holds nothing of the body.
var errUnreadable = errors.New("delivery unreadable: not a structured CloudEvent with an id")

// ceEvent is a delivery body split into what the request needs.
type ceEvent struct {
	raw   []byte
	attrs map[string]json.RawMessage
	id    string
}

// parseEvent reads the structured CloudEvent of a delivery.
func parseEvent(body []byte) (*ceEvent, error) {
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(body, &attrs); err != nil {
		return nil, errUnreadable
	}
	e := &ceEvent{raw: body, attrs: attrs}
	if err := json.Unmarshal(attrs["id"], &e.id); err != nil || e.id == "" {
		return nil, errUnreadable
	}
	return e, nil
}

// stringAttr returns a string attribute, or "" when it is absent or not a
// string.
func (e *ceEvent) stringAttr(name string) string {
	var s string
	if raw, ok := e.attrs[name]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// structured returns the request body and Content-Type of structured mode:
// the event as stored.
func (e *ceEvent) structured() ([]byte, http.Header) {
	h := http.Header{}
	h.Set("Content-Type", contentTypeStructured)
	return e.raw, h
}

// binary returns the request body and headers of binary mode: data as the
// body, datacontenttype as Content-Type (application/json when absent),
// every other attribute as a percent-encoded ce- header.
func (e *ceEvent) binary() ([]byte, http.Header, error) {
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
			return nil, nil, errUnreadable
		}
		if ok {
			h.Set("ce-"+name, percentEncode(v))
		}
	}
	ct := e.stringAttr("datacontenttype")
	var body []byte
	switch {
	case len(e.attrs["data_base64"]) > 0 && string(e.attrs["data_base64"]) != "null":
		var s string
		if err := json.Unmarshal(e.attrs["data_base64"], &s); err != nil {
			return nil, nil, errUnreadable
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, nil, errUnreadable
		}
		body = b
	case len(e.attrs["data"]) > 0:
		data := e.attrs["data"]
		if ct != "" && !isJSON(ct) && data[0] == '"' {
			// Non-JSON data is carried as a JSON string in the JSON format.
			var s string
			if err := json.Unmarshal(data, &s); err != nil {
				return nil, nil, errUnreadable
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
