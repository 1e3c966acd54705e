package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// TestTimersWithTimesOutOfRange: timers stored before the gateway bounded
// time (a term in the year 10000 of an aanmelding logged on 9999-12-31,
// one of 1900) are listed and shown with the others, as text and as
// JSON, the one beyond year 9998 with a note; no view fails for them.
func TestTimersWithTimesOutOfRange(t *testing.T) {
	t.Parallel()
	url, ts := scheduleTimers(t)
	rdb, err := connectRedis(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	s, err := timers.New(rdb, timers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const source = "urn:nld:oin:00000009999999990004:systeem:bvh"
	far := timers.Timer{ID: events.MsgID(source, "a-9999"), Kind: "aanmelding", Betreft: timers.Ref{Source: source, ID: "a-9999", Type: events.TypeAanmelding},
		Subject: strings.Repeat("cd", 32), Ontvanger: "ggz", Sender: "politie", Level: 1, Reden: string(events.RedenTermijnVerstreken),
		Termijn: time.Date(10000, 1, 8, 0, 0, 0, 0, time.UTC), Due: time.Date(10000, 1, 8, 0, 0, 0, 0, time.UTC)}
	old := far
	old.ID, old.Betreft.ID = events.MsgID(source, "a-1900"), "a-1900"
	old.Termijn, old.Due = time.Date(1900, 1, 8, 0, 0, 0, 0, time.UTC), time.Date(1900, 1, 8, 0, 0, 0, 0, time.UTC)
	for _, tm := range []timers.Timer{far, old} {
		if err := s.Schedule(context.Background(), tm); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut := ketenbus(t, "", "timers", "list", "--json", "--redis-url", url)
	if code != 0 {
		t.Fatalf("list --json: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(ts)+2 {
		t.Fatalf("list --json: %d lines, want %d:\n%s", len(lines), len(ts)+2, out)
	}
	byID := map[string]map[string]any{}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		byID[v["id"].(string)] = v
	}
	if v := byID[far.ID]; v["due"] != "+10000-01-08T01:00:00+01:00" || !strings.Contains(v["note"].(string), "beyond what RFC 3339 writes") {
		t.Errorf("the timer of the year 10000: %v, want its due in the expanded form and a note", v)
	}
	if v := byID[old.ID]; v["due"] != "1900-01-08T00:00:00Z" || v["note"] != nil {
		t.Errorf("the timer of 1900: %v, want its due in UTC (Amsterdam's offset then had seconds) and no note", v)
	}
	for _, tm := range ts {
		if v := byID[tm.ID]; v == nil || v["note"] != nil {
			t.Errorf("timer %s: %v", tm.ID, v)
		}
	}

	code, out, errOut = ketenbus(t, "", "timers", "list", "--redis-url", url)
	if code != 0 || !strings.Contains(out, "10000-01-08T01:00:00+01:00") || !strings.Contains(out, "note: timer "+far.ID) || !strings.Contains(out, ts[0].ID) {
		t.Errorf("list: exit %d, stdout:\n%s\nstderr %s", code, out, errOut)
	}
	code, out, errOut = ketenbus(t, "", "timers", "show", "--redis-url", url, far.ID)
	if code != 0 || !strings.Contains(out, "10000-01-08T01:00:00+01:00") || !strings.Contains(out, "note:") {
		t.Errorf("show: exit %d, stdout:\n%s\nstderr %s", code, out, errOut)
	}
	code, out, errOut = ketenbus(t, "", "timers", "show", "--json", "--redis-url", url, far.ID)
	if code != 0 || !strings.Contains(out, `"due":"+10000-01-08T01:00:00+01:00"`) {
		t.Errorf("show --json: exit %d, stdout %s, stderr %s", code, out, errOut)
	}
}
