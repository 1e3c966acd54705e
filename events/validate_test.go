package events_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/schemas"
)

const testSource = "urn:nld:oin:00000009999999990001:systeem:bvh"

// envelope wraps data in a structured event of type t, then applies edits
// (a nil value deletes the attribute).
func envelope(t *testing.T, typ string, data any, edits map[string]any) []byte {
	t.Helper()
	ev := map[string]any{
		"specversion": "1.0",
		"id":          "4f7b5c2e-0d6b-4a8e-9a51-2c7f6d1e0a11",
		"source":      testSource,
		"type":        typ,
		"time":        "2026-11-24T09:30:00+01:00",
		"data":        data,
	}
	for k, v := range edits {
		if v == nil {
			delete(ev, k)
		} else {
			ev[k] = v
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// examples returns the first example of each schema.
func example(t *testing.T, typ string) map[string]any {
	t.Helper()
	raw, err := schemas.Schema(typ)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Examples []map[string]any `json:"examples"`
	}
	if err := json.Unmarshal(raw, &s); err != nil || len(s.Examples) == 0 {
		t.Fatalf("%s has no examples: %v", typ, err)
	}
	return s.Examples[0]
}

func with(m map[string]any, edits map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range edits {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func TestParseStructuredAcceptsEverySchemaExample(t *testing.T) {
	t.Parallel()
	for _, typ := range events.Types() {
		p, err := events.Default().ParseStructured(envelope(t, typ, example(t, typ), nil))
		if err != nil {
			t.Errorf("%s example refused: %v", typ, err)
			continue
		}
		if p.Event.Type() != typ || len(p.Data) == 0 {
			t.Errorf("%s parsed as %q with %d fields", typ, p.Event.Type(), len(p.Data))
		}
	}
}

func TestParseStructuredViolations(t *testing.T) {
	t.Parallel()
	signaal := example(t, events.TypeSignaal)
	aanmelding := example(t, events.TypeAanmelding)
	for _, tc := range []struct {
		name    string
		body    []byte
		pointer string
		detail  string // a part of the detail
	}{
		{"not json", []byte(`{"specversion":`), "", "not valid JSON"},
		{"array", []byte(`[1]`), "", "JSON object"},
		{"missing specversion", envelope(t, events.TypeSignaal, signaal, map[string]any{"specversion": nil}), "/specversion", "required"},
		{"wrong specversion", envelope(t, events.TypeSignaal, signaal, map[string]any{"specversion": "0.3"}), "/specversion", "1.0"},
		{"missing id", envelope(t, events.TypeSignaal, signaal, map[string]any{"id": nil}), "/id", "required"},
		{"id is a bsn", envelope(t, events.TypeSignaal, signaal, map[string]any{"id": "111222333"}), "/id", "must not be a BSN"},
		{"bad source", envelope(t, events.TypeSignaal, signaal, map[string]any{"source": "https://politie.example"}), "/source", "URN"},
		{"short oin", envelope(t, events.TypeSignaal, signaal, map[string]any{"source": "urn:nld:oin:123:systeem:x"}), "/source", "malformed"},
		{"unknown type", envelope(t, "com.example.signal", signaal, nil), "/type", "not in the ketenbus catalog"},
		{"bad time", envelope(t, events.TypeSignaal, signaal, map[string]any{"time": "yesterday"}), "/time", "RFC 3339"},
		{"attribute as number", envelope(t, events.TypeSignaal, signaal, map[string]any{"source": 7}), "/source", "must be a string"},
		{"uppercase extension", envelope(t, events.TypeSignaal, signaal, map[string]any{"Ontvanger": "ggz"}), "/Ontvanger", "lowercase"},
		{"long extension", envelope(t, events.TypeSignaal, signaal, map[string]any{"abcdefghijklmnopqrstu": "x"}), "/abcdefghijklmnopqrstu", "at most 20"},
		{"extension object", envelope(t, events.TypeSignaal, signaal, map[string]any{"ketenx": map[string]any{}}), "/ketenx", "string, a boolean or an integer"},
		{"bsn in subject", envelope(t, events.TypeSignaal, signaal, map[string]any{"subject": "111222333"}), "/subject", "never be a BSN"},
		{"bsn in extension", envelope(t, events.TypeSignaal, signaal, map[string]any{"client": "123456782"}), "/client", "never be a BSN"},
		{"bsn as number extension", envelope(t, events.TypeSignaal, signaal, map[string]any{"client": 123456782}), "/client", "never be a BSN"},
		{"data_base64", envelope(t, events.TypeSignaal, nil, map[string]any{"data": nil, "data_base64": "e30="}), "/data_base64", "not accepted"},
		{"no data", envelope(t, events.TypeSignaal, nil, map[string]any{"data": nil}), "/data", "missing"},
		{"data not object", envelope(t, events.TypeSignaal, "text", nil), "/data", "JSON object"},
		{"xml content type", envelope(t, events.TypeSignaal, signaal, map[string]any{"datacontenttype": "application/xml"}), "/datacontenttype", "application/json"},
		{"missing bsn", envelope(t, events.TypeSignaal, with(signaal, map[string]any{"bsn": nil}), nil), "/data/bsn", "required"},
		{"bsn fails elfproef", envelope(t, events.TypeSignaal, with(signaal, map[string]any{"bsn": "123456789"}), nil), "/data/bsn", "elfproef"},
		{"bad categorie", envelope(t, events.TypeSignaal, with(signaal, map[string]any{"categorie": "diefstal"}), nil), "/data/categorie", "verward-gedrag"},
		{"unknown field", envelope(t, events.TypeSignaal, with(signaal, map[string]any{"naam": "Jan"}), nil), "/data/naam", "not a field"},
		{"long toelichting", envelope(t, events.TypeSignaal, with(signaal, map[string]any{"toelichting": strings.Repeat("x", 2001)}), nil), "/data/toelichting", "at most 2000"},
		{"contactpersoon without naam", envelope(t, events.TypeSignaal, with(signaal, map[string]any{"contactpersoon": map[string]any{"telefoon": "050-1234567"}}), nil), "/data/contactpersoon/naam", "required"},
		{"both terms", envelope(t, events.TypeAanmelding, with(aanmelding, map[string]any{"reactietermijn": map[string]any{"werkdagen": 5}, "uiterlijk": "2026-12-01T17:00:00+01:00"}), nil), "/data", "exactly one of reactietermijn"},
		{"no term", envelope(t, events.TypeAanmelding, with(aanmelding, map[string]any{"reactietermijn": nil, "uiterlijk": nil}), nil), "/data", "exactly one of reactietermijn"},
		{"fractional werkdagen", envelope(t, events.TypeAanmelding, with(aanmelding, map[string]any{"reactietermijn": map[string]any{"werkdagen": 2.5}}), nil), "/data/reactietermijn/werkdagen", "whole number"},
		{"duplicate member", []byte(`{"specversion":"1.0","id":"a","id":"b"}`), "", "appears twice"},
		{"invalid utf-8", []byte("{\"specversion\":\"1.0\",\"id\":\"\xff\"}"), "", "not valid JSON"},
		{"ontvanger conflict", envelope(t, events.TypeAanmelding, with(aanmelding, map[string]any{"ontvanger": "ggz"}), map[string]any{"ontvanger": "zvh"}), "/ontvanger", "differs from data.ontvanger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := events.Default().ParseStructured(tc.body)
			var ve *events.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, events.ErrInvalid) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			for _, v := range ve.Violations {
				if v.Pointer == tc.pointer && strings.Contains(v.Detail, tc.detail) {
					return
				}
			}
			t.Fatalf("want %s: …%s…, got %+v", tc.pointer, tc.detail, ve.Violations)
		})
	}
}

// TestViolationsNeverEchoValues: details must never repeat what a partner
// sent, because that may be personal data.
func TestViolationsNeverEchoValues(t *testing.T) {
	t.Parallel()
	signaal := example(t, events.TypeSignaal)
	secret := "Jansen-geheim"
	bodies := [][]byte{
		envelope(t, events.TypeSignaal, with(signaal, map[string]any{"bsn": "12345678" + "9", "categorie": secret, "urgentie": secret}), nil),
		envelope(t, events.TypeSignaal, with(signaal, map[string]any{"contactpersoon": map[string]any{"naam": "x", "email": secret, "telefoon": secret}}), nil),
		envelope(t, events.TypeSignaal, signaal, map[string]any{"subject": "111222333", "time": secret}),
	}
	for _, b := range bodies {
		_, err := events.Default().ParseStructured(b)
		if err == nil {
			t.Fatal("invalid event accepted")
		}
		if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "123456789") || strings.Contains(msg, "111222333") {
			t.Fatalf("a violation repeats a sent value: %s", msg)
		}
	}
}

func TestParseBatch(t *testing.T) {
	t.Parallel()
	signaal := example(t, events.TypeSignaal)
	good := json.RawMessage(envelope(t, events.TypeSignaal, signaal, nil))
	bad := json.RawMessage(envelope(t, events.TypeSignaal, with(signaal, map[string]any{"urgentie": nil}), nil))
	b, _ := json.Marshal([]json.RawMessage{good, good})
	if ps, err := events.Default().ParseBatch(b); err != nil || len(ps) != 2 {
		t.Fatalf("good batch: %d events, %v", len(ps), err)
	}
	b, _ = json.Marshal([]json.RawMessage{good, bad})
	_, err := events.Default().ParseBatch(b)
	var ve *events.ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) != 1 || ve.Violations[0].Pointer != "/1/data/urgentie" {
		t.Fatalf("bad batch: %v", err)
	}
	for _, body := range []string{`[]`, `{}`, `nope`} {
		if _, err := events.Default().ParseBatch([]byte(body)); err == nil {
			t.Errorf("batch %s accepted", body)
		}
	}
}

func TestNewBuildsValidEvents(t *testing.T) {
	t.Parallel()
	e, err := events.New(testSource, events.Signaal{
		BSN: "111222333", Categorie: events.CategorieSchulden, Urgentie: events.UrgentieMidden,
		Contactpersoon: events.Contactpersoon{Naam: "A. de Vries"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID() == "" || e.Time().IsZero() || e.Type() != events.TypeSignaal {
		t.Fatalf("incomplete event: %v", e)
	}
	if _, err := events.New(testSource, events.OverdrachtJeugdWmo{
		BSN: "123456782", Geboortedatum: "2008-02-29", Ontvanger: "wmo-team",
		Contactpersoon: events.Contactpersoon{Naam: "B. Bakker"},
	}); err != nil {
		t.Fatalf("overdracht without voorzieningen: %v", err)
	}
	if _, err := events.New("not-a-urn", events.Bevestiging{}); err == nil {
		t.Fatal("invalid event built without error")
	}
}

// TestRoundTrip: a parsed event encodes back to a structured event with
// JSON data that parses again.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	p, err := events.Default().ParseStructured(envelope(t, events.TypeSignaal, example(t, events.TypeSignaal), nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Event.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "data_base64") {
		t.Fatalf("data encoded as base64: %s", b)
	}
	if _, err := events.Default().ParseStructured(b); err != nil {
		t.Fatalf("re-parse: %v", err)
	}
}
