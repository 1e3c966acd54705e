package router_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/region"
	"github.com/ketenbus/ketenbus/services/router"
)

// TestFiltersSeeContextAttributes: CESQL filters see the context
// attributes, extensions included, and an attribute an event lacks makes
// the filter false, never an error.
func TestFiltersSeeContextAttributes(t *testing.T) {
	t.Parallel()
	reg, err := region.Load("testdata/region.yaml")
	if err != nil {
		t.Fatal(err)
	}
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
