package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// TestRebuildAsksWithoutYes: the rebuild commands replace what is in
// Redis only after a yes, and without a terminal say to pass --yes.
func TestRebuildAsksWithoutYes(t *testing.T) {
	t.Parallel()
	for _, projection := range []string{"timers", "samenloop"} {
		code, _, errOut := ketenbus(t, "", projection, "rebuild", "--config", regionFile)
		if code != 2 || !strings.Contains(errOut, "pass --yes") {
			t.Errorf("%s rebuild: exit %d, stderr %q: want 2 and a hint to pass --yes", projection, code, errOut)
		}
	}
}

// TestTimersRebuild: two aanmeldingen on EVENTS, one acknowledged: the
// rebuild leaves one pending timer and says so.
func TestTimersRebuild(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	rs := redistest.Start(t)
	const source = "urn:nld:oin:00000009999999990004:systeem:bvh" // politie in the demo region
	put := func(typ, partner, src, id string, data map[string]any) {
		env.StoreEvent(t, partner, map[string]any{"specversion": "1.0", "id": id, "source": src, "type": typ,
			"time": "2026-04-02T10:00:00+02:00", "subject": strings.Repeat("ab", 32), "data": data})
	}
	for _, id := range []string{"a-1", "a-2"} {
		put(events.TypeAanmelding, "politie", source, id, map[string]any{"bsn": "111222333", "ontvanger": "ggz", "reden": "zorgen",
			"contactpersoon": map[string]any{"naam": "X"}, "reactietermijn": map[string]any{"werkdagen": 5}})
	}
	ggz := "urn:nld:kvknr:99999901:systeem:epd"
	put(events.TypeBevestiging, "ggz", ggz, "b-1", map[string]any{"betreft": map[string]any{"source": source, "id": "a-1"}, "status": "opgepakt"})
	code, out, errOut := ketenbus(t, "", "timers", "rebuild", "--yes", "--config", regionFile,
		"--nats-url", env.URL, "--redis-url", rs.URL())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "rebuilt from 3 events: 1 timers pending") {
		t.Fatalf("stdout %q", out)
	}
	code, out, errOut = ketenbus(t, "", "timers", "rebuild", "--yes", "--json", "--config", regionFile,
		"--nats-url", env.URL, "--redis-url", rs.URL())
	if code != 0 || out != `{"events":3,"pending":1}`+"\n" {
		t.Fatalf("--json: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
}

// idBSN is in the id of an event a timer watches.
const idBSN = "111222333"

// scheduleTimers starts a real redis-server and schedules three timers
// with the escalator's store, out of due order: politie→ggz due 10 April,
// gemeente→wijkteam due 8 April, an overdracht jeugd→gemeente due 20 April.
func scheduleTimers(t *testing.T) (url string, ts []timers.Timer) {
	t.Helper()
	rs := redistest.Start(t)
	s, err := timers.New(rs.Client(t), timers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(kind, sender, source, id, ontvanger string, level int, reden string, due time.Time) timers.Timer {
		sum := sha256.Sum256([]byte("person " + id))
		typ := events.TypeAanmelding
		if kind == "overdracht" {
			typ = events.TypeOverdrachtJeugdWmo
		}
		return timers.Timer{ID: events.MsgID(source, id), Kind: kind, Betreft: timers.Ref{Source: source, ID: id, Type: typ},
			Subject: hex.EncodeToString(sum[:]), Ontvanger: ontvanger, Sender: sender, Level: level, Reden: reden,
			Termijn: due.Add(-24 * time.Hour), Due: due}
	}
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	ts = []timers.Timer{
		mk("aanmelding", "politie", "urn:nld:oin:00000009999999990004:systeem:bvh", "a-1", "ggz", 1,
			string(events.RedenTermijnVerstreken), time.Date(2026, 4, 10, 0, 0, 0, 0, ams)),
		mk("aanmelding", "gemeente", "urn:nld:oin:00000009999999990001:systeem:zaaksysteem", "a-2", "wijkteam", 0,
			string(events.RedenTermijnVerstreken), time.Date(2026, 4, 8, 0, 0, 0, 0, ams)),
		// jeugd put a BSN in its event id: the commands show it replaced.
		mk("overdracht", "jeugd", "urn:nld:kvknr:99999902:systeem:jeugd", "o-"+idBSN, "gemeente", 0,
			string(events.RedenHerinnering18), time.Date(2026, 4, 20, 0, 0, 0, 0, ams)),
	}
	for _, tm := range ts {
		if err := s.Schedule(context.Background(), tm); err != nil {
			t.Fatal(err)
		}
	}
	return rs.URL(), ts
}

func TestTimersList(t *testing.T) {
	t.Parallel()
	url, ts := scheduleTimers(t)
	a1, a2, o1 := ts[0], ts[1], ts[2]
	tests := []struct {
		name string
		args []string
		want []timers.Timer // in this order
	}{
		{"all, by due", nil, []timers.Timer{a2, a1, o1}},
		{"due before", []string{"--due-before", "2026-04-15T00:00:00+02:00"}, []timers.Timer{a2, a1}},
		{"due before excludes due at", []string{"--due-before", "2026-04-08T00:00:00+02:00"}, nil},
		{"ontvanger", []string{"--partner", "ggz"}, []timers.Timer{a1}},
		{"sender", []string{"--partner", "jeugd"}, []timers.Timer{o1}},
		{"both filters", []string{"--partner", "gemeente", "--due-before", "2026-04-15T00:00:00Z"}, []timers.Timer{a2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"timers", "list", "--redis-url", url}, tc.args...)
			code, out, errOut := ketenbus(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(tc.want) == 0 {
				if out != "no pending timers\n" {
					t.Errorf("stdout %q, want no pending timers", out)
				}
			} else {
				if !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "SUBJECT") || !strings.Contains(lines[0], "TERMIJN") {
					t.Errorf("header %q", lines[0])
				}
				if len(lines) != len(tc.want)+1 {
					t.Fatalf("%d rows, want %d:\n%s", len(lines)-1, len(tc.want), out)
				}
				for i, w := range tc.want {
					row := lines[i+1]
					for _, cell := range []string{w.ID, w.Kind, w.Betreft.Source + " " + events.RedactBSNs(w.Betreft.ID), events.ShortPseudonym(w.Subject) + " ",
						w.Ontvanger, w.Reden, w.Due.In(w.Due.Location()).Format(time.RFC3339)} {
						if !strings.Contains(row, cell) {
							t.Errorf("row %d %q lacks %q", i, row, cell)
						}
					}
					// Tables show the pseudonym shortened only.
					if strings.Contains(row, w.Subject) {
						t.Errorf("row %d shows the full subject", i)
					}
				}
			}

			table := out
			code, out, errOut = ketenbus(t, "", append(args, "--json")...)
			if code != 0 {
				t.Fatalf("--json: exit %d: %s", code, errOut)
			}
			if strings.Contains(table+out, idBSN) {
				t.Errorf("the output holds the BSN of an event id:\n%s\n%s", table, out)
			}
			got := jsonLines[timerView](t, out)
			if len(got) != len(tc.want) {
				t.Fatalf("--json: %d timers, want %d:\n%s", len(got), len(tc.want), out)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.ID != w.ID || g.Kind != w.Kind || g.Betreft != (timerRefView{w.Betreft.Source, events.RedactBSNs(w.Betreft.ID), w.Betreft.Type}) ||
					g.Subject != w.Subject || g.Ontvanger != w.Ontvanger || g.Sender != w.Sender || g.Level != w.Level ||
					g.Reden != w.Reden || !time.Time(g.Due).Equal(w.Due) || !time.Time(g.Termijn).Equal(w.Termijn) || g.Anchor != nil {
					t.Errorf("--json timer %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestTimersListUsage(t *testing.T) {
	t.Parallel()
	code, _, errOut := ketenbus(t, "", "timers", "list", "--due-before", "tomorrow", "--redis-url", "redis://127.0.0.1:1")
	if code != 2 || !strings.Contains(errOut, "RFC 3339") {
		t.Errorf("exit %d, stderr %q: want 2 and the formats", code, errOut)
	}
	code, _, errOut = ketenbus(t, "", "timers", "list", "--redis-url", "redis://127.0.0.1:1")
	if code != 1 || !strings.Contains(errOut, "pass --redis-url") {
		t.Errorf("no Redis: exit %d, stderr %q", code, errOut)
	}
}

func TestTimersShow(t *testing.T) {
	t.Parallel()
	url, ts := scheduleTimers(t)
	a1 := ts[0]
	for _, args := range [][]string{{a1.ID}, {strings.ToUpper(a1.ID)}, {a1.Betreft.Source, a1.Betreft.ID}} {
		code, out, errOut := ketenbus(t, "", append([]string{"timers", "show", "--redis-url", url}, args...)...)
		if code != 0 {
			t.Fatalf("show %v: exit %d: %s", args, code, errOut)
		}
		for _, want := range []string{"id:", a1.ID, "aanmelding", a1.Betreft.Source + " " + a1.Betreft.ID, a1.Betreft.Type,
			"subject:", a1.Subject, "sender:", "politie", "ontvanger:", "ggz", "level:", "1", a1.Reden,
			"termijn:", "2026-04-09T00:00:00+02:00", "due:", "2026-04-10T00:00:00+02:00"} {
			if !strings.Contains(out, want) {
				t.Errorf("show %v lacks %q:\n%s", args, want, out)
			}
		}
	}
	code, out, errOut := ketenbus(t, "", "timers", "show", "--json", "--redis-url", url, a1.ID)
	var v timerView
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.ID != a1.ID || v.Subject != a1.Subject || !time.Time(v.Due).Equal(a1.Due) {
		t.Errorf("show --json: exit %d, %v, %+v; stderr %s", code, err, v, errOut)
	}

	unknown := events.MsgID("urn:x", "nope")
	code, _, errOut = ketenbus(t, "", "timers", "show", "--redis-url", url, unknown)
	if code != 1 || !strings.Contains(errOut, "no pending timer "+unknown) {
		t.Errorf("unknown id: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = ketenbus(t, "", "timers", "show", "--redis-url", url, "a-1")
	if code != 2 || !strings.Contains(errOut, "is not a timer id") {
		t.Errorf("malformed id: exit %d, stderr %q", code, errOut)
	}
}

func TestTimersCancel(t *testing.T) {
	t.Parallel()
	url, ts := scheduleTimers(t)
	a1, a2 := ts[0], ts[1]
	list := func() string {
		t.Helper()
		code, out, errOut := ketenbus(t, "", "timers", "list", "--redis-url", url)
		if code != 0 {
			t.Fatalf("list: exit %d: %s", code, errOut)
		}
		return out
	}

	// Without --yes and without a terminal: refused, nothing removed.
	code, out, errOut := ketenbus(t, "", "timers", "cancel", "--redis-url", url, a1.ID)
	if code != 2 || !strings.Contains(errOut, "pass --yes") || out != "" {
		t.Errorf("without --yes: exit %d, stdout %q, stderr %q: want 2 and a hint to pass --yes", code, out, errOut)
	}
	if !strings.Contains(list(), a1.ID) {
		t.Fatal("the timer was removed without --yes")
	}

	code, out, errOut = ketenbus(t, "", "timers", "cancel", "--yes", "--redis-url", url, a1.ID)
	if code != 0 || !strings.Contains(out, "cancelled timer "+a1.ID) || !strings.Contains(out, "no longer watched") {
		t.Fatalf("--yes: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if l := list(); strings.Contains(l, a1.ID) || !strings.Contains(l, a2.ID) {
		t.Errorf("after cancel, list:\n%s", l)
	}

	// By source and id.
	code, _, errOut = ketenbus(t, "", "timers", "cancel", "-y", "--redis-url", url, a2.Betreft.Source, a2.Betreft.ID)
	if code != 0 || strings.Contains(list(), a2.ID) {
		t.Errorf("cancel by source and id: exit %d, stderr %q", code, errOut)
	}

	// Again: unknown now.
	code, _, errOut = ketenbus(t, "", "timers", "cancel", "--yes", "--redis-url", url, a1.ID)
	if code != 1 || !strings.Contains(errOut, "no pending timer "+a1.ID) {
		t.Errorf("cancel twice: exit %d, stderr %q", code, errOut)
	}
}
