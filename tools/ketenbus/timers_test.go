package main

import (
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/testutil/redistest"
)

func TestTimersRebuildAsksWithoutYes(t *testing.T) {
	t.Parallel()
	code, _, errOut := ketenbus(t, "", "timers", "rebuild", "--config", regionFile)
	if code != 2 || !strings.Contains(errOut, "pass --yes") {
		t.Fatalf("exit %d, stderr %q: want 2 and a hint to pass --yes", code, errOut)
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
}
