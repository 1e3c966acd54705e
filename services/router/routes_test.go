package router_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/region"
)

// TestFiltersSeeContextAttributes: CESQL filters see the context
// attributes, extensions included, and an attribute an event lacks makes
// the filter false, never an error.
func TestFiltersSeeContextAttributes(t *testing.T) {
	t.Parallel()
	reg := loadRegion(t, "testdata/region.yaml")
	reg.Partners[0].Subscriptions = []region.Subscription{
		{Name: "urgent", Types: []string{events.TypeSignaal}, Purpose: "urn:nld:x:verwerkingsactiviteit:y", Filter: "prioriteit = 'hoog' AND subject LIKE '5f0c%'"},
		{Name: "counted", Types: []string{events.TypeSignaal}, Purpose: "urn:nld:x:verwerkingsactiviteit:y", Filter: "volgnummer > 10"},
	}
	table, err := router.NewTable(reg)
	if err != nil {
		t.Fatal(err)
	}
	route := func(ext map[string]any) []string {
		ev := map[string]any{"specversion": "1.0", "id": "x", "source": sourcePolitie, "type": events.TypeSignaal,
			"subject": pseudonym, "time": "2026-11-24T09:30:00Z", "data": signaal()}
		for k, v := range ext {
			ev[k] = v
		}
		b, _ := json.Marshal(ev)
		r, err := table.Route(b, 7, "m")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range r.Deliveries {
			if d.Partner == "politie" {
				got = append(got, d.Subscription)
			}
		}
		return got
	}
	for _, tc := range []struct {
		ext  map[string]any
		want string
	}{
		{map[string]any{"prioriteit": "hoog"}, "[urgent]"},
		{map[string]any{"prioriteit": "laag"}, "[]"},
		{map[string]any{"volgnummer": 11}, "[counted]"},
		{map[string]any{"volgnummer": 3, "prioriteit": "hoog"}, "[urgent]"},
		{nil, "[]"},
	} {
		if got := route(tc.ext); fmtList(got) != tc.want {
			t.Errorf("extensions %v: routed to %v, want %s", tc.ext, got, tc.want)
		}
	}
}

func fmtList(s []string) string { return "[" + strings.Join(s, " ") + "]" }

// TestFilterSeesSequence: sequence is an attribute a filter may name
// (region.FilterAttributes); it is the EVENTS sequence the delivery
// carries, also when the stored event brings a sequence of its own.
func TestFilterSeesSequence(t *testing.T) {
	t.Parallel()
	reg := loadRegion(t, "testdata/region.yaml")
	reg.Partners[0].Subscriptions = []region.Subscription{
		{Name: "late", Types: []string{events.TypeSignaal}, Purpose: "urn:nld:x:verwerkingsactiviteit:y", Filter: "sequence > 100"},
	}
	table, err := router.NewTable(reg)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": "x", "source": sourcePolitie, "type": events.TypeSignaal,
		"subject": pseudonym, "sequence": "5", "data": signaal()})
	for _, tc := range []struct {
		seq  uint64
		want int
	}{{7, 0}, {101, 1}} {
		r, err := table.Route(ev, tc.seq, "m")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range r.Deliveries {
			if d.Subscription == "late" {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("stored at %d: %d deliveries, want %d", tc.seq, n, tc.want)
		}
	}
}
