package events_test

import (
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
)

// TestAttributes: the members of a stored event give its context
// attributes and extensions by the rules of ParseStructured; a member
// that breaks them is left out, and data is not read.
func TestAttributes(t *testing.T) {
	t.Parallel()
	ms, err := events.Members([]byte(`{"specversion":"1.0","id":"e-1","source":"urn:nld:oin:00000001234567890000:systeem:bvh",
		"type":"nl.sociaaldomein.signaal.v1","subject":"p-1","time":"2026-11-24T09:30:00+01:00","datacontenttype":"application/json",
		"ontvanger":"ggz","spoed":true,"niveau":2,"groot":12345678901,"lijst":[1],"Fout":"x","dataschema":7,"data":{"bsn":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	e := events.Attributes(ms)
	if e.ID() != "e-1" || e.Source() != "urn:nld:oin:00000001234567890000:systeem:bvh" || e.Type() != events.TypeSignaal ||
		e.Subject() != "p-1" || e.DataContentType() != "application/json" || e.DataSchema() != "" {
		t.Errorf("context attributes %v", e.Context)
	}
	if want := time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC); !e.Time().Equal(want) {
		t.Errorf("time %v, want %v", e.Time(), want)
	}
	want := map[string]any{"ontvanger": "ggz", "spoed": true, "niveau": int32(2)}
	got := e.Extensions()
	if len(got) != len(want) {
		t.Errorf("extensions %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("extension %s = %#v, want %#v", k, got[k], v)
		}
	}
	if len(e.Data()) != 0 {
		t.Errorf("data read: %s", e.Data())
	}
}

// TestReadEvent: a stored event reads back with its data as stored, its
// datacontenttype kept; what is not one JSON object is an error.
func TestReadEvent(t *testing.T) {
	t.Parallel()
	e, err := events.ReadEvent([]byte(`{"specversion":"1.0","id":"e-1","type":"nl.sociaaldomein.signaal.v1","data":{"categorie":"schulden"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var d events.Signaal
	if err := e.DataAs(&d); err != nil || d.Categorie != events.CategorieSchulden {
		t.Errorf("data %+v (%v)", d, err)
	}
	if e.ID() != "e-1" || e.DataContentType() != events.ContentTypeJSON {
		t.Errorf("attributes %v", e.Context)
	}
	e, err = events.ReadEvent([]byte(`{"id":"e-2","datacontenttype":"application/cloudevents+json; charset=utf-8","data":null}`))
	if err != nil || e.DataContentType() != "application/cloudevents+json; charset=utf-8" || len(e.Data()) != 0 {
		t.Errorf("null data: %v, %s (%v)", e.DataContentType(), e.Data(), err)
	}
	for _, bad := range []string{`not json`, `[]`, `{"id":"e-1"`, ``} {
		if _, err := events.ReadEvent([]byte(bad)); err == nil {
			t.Errorf("ReadEvent(%q) accepted", bad)
		}
	}
}
