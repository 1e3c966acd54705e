package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ContentTypeStructured, ContentTypeBatch and ContentTypeJSON are the media
// types of the CloudEvents HTTP binding that ketenbus accepts.
const (
	ContentTypeStructured = "application/cloudevents+json"
	ContentTypeBatch      = "application/cloudevents-batch+json"
	ContentTypeJSON       = "application/json"
)

// ExtensionOntvanger is the extension attribute naming the partner an event
// is directed to.
const ExtensionOntvanger = "ontvanger"

// ExtensionAfzender is the extension attribute naming the partner that
// sent an event, set by the gateway: a receiver tells by it whether a
// bevestiging comes from the aanmelding's ontvanger.
const ExtensionAfzender = "afzender"

// Parsed is an event that passed the catalog: the CloudEvent and its data,
// decoded.
type Parsed struct {
	Event event.Event
	// Data is the decoded data object; numbers are float64.
	Data map[string]any
}

// String returns the data field name as a string, "" when absent.
func (p *Parsed) String(field string) string {
	s, _ := p.Data[field].(string)
	return s
}

var contextAttributes = map[string]bool{
	"specversion": true, "id": true, "source": true, "type": true, "subject": true,
	"time": true, "datacontenttype": true, "dataschema": true,
}

// ParseStructured parses and validates one event in the structured JSON
// form (application/cloudevents+json). The error is a *ValidationError
// listing every violation.
func (c *Catalog) ParseStructured(b []byte) (*Parsed, error) {
	members, v := readObject(b)
	if v != "" {
		return nil, &ValidationError{Violations: []Violation{{Pointer: "", Detail: v + "; a structured CloudEvent is a JSON object"}}}
	}
	return c.parseObject(members)
}

// ParseBatch parses and validates a batch (application/cloudevents-batch+json,
// a JSON array of structured events). All or nothing: the error is a
// *ValidationError listing the violations of every event, each pointer
// prefixed with the event's index.
func (c *Catalog) ParseBatch(b []byte) ([]*Parsed, error) {
	const shape = "a batch is a JSON array of structured CloudEvents"
	var items []jsontext.Value
	if err := jsonv2.Unmarshal(b, &items); err != nil {
		return nil, &ValidationError{Violations: []Violation{{Pointer: "", Detail: jsonDetail(err) + "; " + shape}}}
	}
	if len(items) == 0 {
		return nil, &ValidationError{Violations: []Violation{{Pointer: "", Detail: "the batch is empty: send at least one event"}}}
	}
	out := make([]*Parsed, len(items))
	var all []Violation
	for i, item := range items {
		members, v := readObject(item)
		if v != "" {
			all = append(all, Violation{Pointer: "/" + strconv.Itoa(i), Detail: "each event of a batch is a JSON object: " + v})
			continue
		}
		p, err := c.parseObject(members)
		if err != nil {
			all = append(all, err.(*ValidationError).Prefixed(i)...)
			continue
		}
		out[i] = p
	}
	if len(all) > 0 {
		return nil, &ValidationError{Violations: all}
	}
	return out, nil
}

// readObject splits a JSON object into its members, each kept as the exact
// JSON that was sent. It returns a detail for a body that is not one JSON
// object (duplicate member names included).
func readObject(b []byte) (map[string]jsontext.Value, string) {
	var members map[string]jsontext.Value
	if err := jsonv2.Unmarshal(b, &members); err != nil {
		return nil, jsonDetail(err)
	}
	if members == nil {
		return nil, "the body is JSON null"
	}
	return members, ""
}

// jsonDetail describes a decoding error without repeating the input.
func jsonDetail(err error) string {
	var syn *jsontext.SyntacticError
	var sem *jsonv2.SemanticError
	switch {
	case errors.As(err, &syn):
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return "a member name appears twice at " + string(syn.JSONPointer) + " (byte " + strconv.FormatInt(syn.ByteOffset, 10) + ")"
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return "the body is not valid JSON: it ends too early"
		}
		return "the body is not valid JSON (byte " + strconv.FormatInt(syn.ByteOffset, 10) + ")"
	case errors.As(err, &sem):
		return "the body is JSON of the wrong shape"
	}
	return "the body is not valid JSON"
}

func (c *Catalog) parseObject(obj map[string]jsontext.Value) (*Parsed, error) {
	var vs violations
	bad := textViolations{}
	e := event.New()
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		v := obj[name]
		if name != "data" && v.Kind() == '"' {
			// As sent: the SDK trims white space off an id and refuses a
			// source it cannot parse as a URI.
			bad.check(name, Text(v), &vs)
		}
		setMember(&e, name, v, &vs)
	}
	if _, ok := obj["specversion"]; !ok {
		vs.add("/specversion", "specversion is required and must be \"1.0\"")
	}
	raw, hasData := obj["data"]
	hasData = hasData && raw.Kind() != 'n'
	var data any
	if hasData {
		if err := jsonv2.Unmarshal(raw, &data); err != nil {
			vs.add("/data", "data is not valid JSON")
			hasData = false
		} else {
			setJSONData(&e, raw)
		}
	}
	m := c.check(&e, data, hasData, bad, &vs)
	if err := vs.err(); err != nil {
		return nil, err
	}
	return &Parsed{Event: e, Data: m}, nil
}

// setMember sets the context attribute or extension name of e to the
// JSON value v, by the rules of CloudEvents and the NL GOV profile: which
// names are context attributes, how an extension is named and typed. It
// adds each rule v breaks to vs and leaves the member out; a nil vs (a
// stored event, which passed these rules at the gateway) reports nothing.
// data is not read here; data_base64 is refused.
func setMember(e *event.Event, name string, v jsontext.Value, vs *violations) {
	switch {
	case name == "data":
	case name == "data_base64":
		vs.add("/data_base64", "data_base64 is not accepted: send data as a JSON object in data")
	case contextAttributes[name]:
		if v.Kind() != '"' {
			vs.add("/"+name, name+" must be a string")
			return
		}
		setAttribute(e, name, Text(v), vs)
	default:
		if !validExtensionName(name) {
			vs.add("/"+pointerEscape(name), "attribute names are lowercase letters a-z and digits 0-9, at most 20 characters")
			return
		}
		switch v.Kind() {
		case '"':
			e.SetExtension(name, Text(v))
		case 't', 'f':
			e.SetExtension(name, v.Kind() == 't')
		case '0':
			if i, err := strconv.ParseInt(string(v), 10, 32); err == nil {
				e.SetExtension(name, int32(i))
			} else {
				vs.add("/"+name, name+" must be a string, a boolean or an integer")
			}
		default:
			vs.add("/"+name, name+" must be a string, a boolean or an integer")
		}
	}
}

func setAttribute(e *event.Event, name, s string, vs *violations) {
	switch name {
	case "specversion":
		if s != "1.0" {
			vs.add("/specversion", "specversion must be \"1.0\"")
		}
	case "id":
		e.SetID(s)
	case "source":
		e.SetSource(s)
	case "type":
		e.SetType(s)
	case "subject":
		e.SetSubject(s)
	case "datacontenttype":
		e.SetDataContentType(s)
	case "dataschema":
		e.SetDataSchema(s)
	case "time":
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			vs.add("/time", "time must be an RFC 3339 timestamp such as 2026-11-24T09:30:00+01:00")
			return
		}
		e.SetTime(t)
	}
}

// Validate checks an event built in Go against the catalog and the NL GOV
// rules: the same checks, and the same messages, as the gateway. The error
// is a *ValidationError.
func (c *Catalog) Validate(e *event.Event) error {
	var vs violations
	var data any
	raw := bytes.TrimSpace(e.Data())
	if len(raw) > 0 {
		if err := jsonv2.Unmarshal(raw, &data); err != nil {
			vs.add("/data", "data is not valid JSON")
			return vs.err()
		}
	}
	c.check(e, data, data != nil, textViolations{}, &vs)
	return vs.err()
}

// check applies the catalog and NL GOV rules to an event whose data is
// already decoded, and returns the data object.
// bad holds the String attributes already found to hold a forbidden
// character (in the JSON as sent, which the SDK's setters may have trimmed
// or refused); check adds the rest.
func (c *Catalog) check(e *event.Event, data any, hasData bool, bad textViolations, vs *violations) map[string]any {
	if e.SpecVersion() != event.CloudEventsVersionV1 {
		vs.add("/specversion", "specversion must be \"1.0\"")
	}
	// A String attribute with a forbidden character gets that violation
	// only: the value's other rules cannot be judged.
	bad.event(e, vs)
	switch id := e.ID(); {
	case bad["id"]:
	case id == "":
		vs.add("/id", "id is required: a unique id per source, such as a UUID")
	case len(id) > 256:
		vs.add("/id", "id must be at most 256 characters")
	case looksLikeBSN(id):
		vs.add("/id", "id must not be a BSN: use a UUID or another id without personal data")
	}
	if err := CheckSource(e.Source()); err != nil && !bad["source"] {
		vs.add("/source", err.Error())
	}
	t := e.Type()
	if !KnownType(t) && !bad["type"] {
		vs.add("/type", unknownTypeDetail(t))
	}
	if s := e.Subject(); s != "" && !bad["subject"] && looksLikeBSN(s) {
		vs.add("/subject", "subject must never be a BSN: ketenbus sets subject to the person's pseudonym; leave it out")
	}
	if ct := e.DataContentType(); ct != "" && !bad["datacontenttype"] {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != ContentTypeJSON && !strings.HasSuffix(mt, "+json")) {
			vs.add("/datacontenttype", "datacontenttype must be application/json")
		}
	}
	if ds := e.DataSchema(); ds != "" && !bad["dataschema"] && looksLikeBSN(ds) {
		vs.add("/dataschema", "dataschema must be a URI")
	}
	exts := e.Extensions()
	for _, name := range slices.Sorted(maps.Keys(exts)) {
		if !validExtensionName(name) {
			vs.add("/"+pointerEscape(name), "attribute names are lowercase letters a-z and digits 0-9, at most 20 characters")
		}
		var text string
		switch v := exts[name].(type) {
		case string:
			text = v
		case int32:
			text = jsonNumberText(int64(v))
		}
		if !bad[name] && looksLikeBSN(text) {
			vs.add("/"+name, name+" must never be a BSN: personal data belongs in data, where ketenbus protects it")
		}
	}
	if o, ok := exts[ExtensionOntvanger]; ok {
		if s, isStr := o.(string); !bad[ExtensionOntvanger] && (!isStr || !ValidPartnerID(s)) {
			vs.add("/ontvanger", "ontvanger must be a partner id: lowercase letters, digits and '-'")
		}
	}
	if !KnownType(t) {
		return nil
	}
	m := c.validateValue(t, data, hasData, vs)
	if m != nil && c.HasOntvanger(t) {
		if attr, ok := exts[ExtensionOntvanger].(string); ok {
			if d, _ := m["ontvanger"].(string); d != "" && d != attr {
				vs.add("/ontvanger", "the ontvanger attribute differs from data.ontvanger; leave the attribute out, ketenbus sets it from data.ontvanger")
			}
		}
	}
	return m
}

// textViolations records which String attributes hold a character
// CloudEvents forbids (see CheckString), each with one violation.
type textViolations map[string]bool

// check adds a violation at /name when s holds a forbidden character and
// the attribute has none yet.
func (bad textViolations) check(name, s string, vs *violations) {
	if bad[name] {
		return
	}
	d := forbiddenCharacter(s)
	if d == "" {
		return
	}
	bad[name] = true
	vs.add("/"+pointerEscape(name), name+" holds "+d+
		": CloudEvents allows no control characters, surrogates or noncharacters in a String attribute; remove it")
}

// event checks every String attribute of e.
func (bad textViolations) event(e *event.Event, vs *violations) {
	bad.check("id", e.ID(), vs)
	bad.check("source", e.Source(), vs)
	bad.check("type", e.Type(), vs)
	bad.check("subject", e.Subject(), vs)
	bad.check("datacontenttype", e.DataContentType(), vs)
	bad.check("dataschema", e.DataSchema(), vs)
	exts := e.Extensions()
	for _, name := range slices.Sorted(maps.Keys(exts)) {
		if s, ok := exts[name].(string); ok {
			bad.check(name, s, vs)
		}
	}
}

func jsonNumberText(i int64) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// setJSONData sets JSON data as it is (SetData would base64 a []byte),
// and datacontenttype application/json unless one is set.
func setJSONData(e *event.Event, data []byte) {
	if e.DataContentType() == "" {
		e.SetDataContentType(ContentTypeJSON)
	}
	e.DataEncoded = data
	e.DataBase64 = false
}
