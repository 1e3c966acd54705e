package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/samenloopindex"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
)

func TestSamenloopRebuildHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := ketenbus(t, "", "samenloop", "rebuild", "--help")
	if code != 0 || !strings.Contains(out, "Examples:") {
		t.Errorf("exit %d, no examples in:\n%s", code, out)
	}
}

// TestSamenloopRebuild: politie and ggz signalled the same person on
// EVENTS: the rebuild indexes the person, with both in its samenloop,
// says so, and publishes nothing.
func TestSamenloopRebuild(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	rs := redistest.Start(t)
	const (
		bsn       = "111222333"
		pseudonym = "5f0c6e2d9a0b4c1d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"
	)
	// Within the window: the rebuild replays the events stored since
	// now − window_days, and the index keeps signalen by their time.
	at := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	for _, s := range []struct{ partner, source, id string }{
		{"politie", "urn:nld:oin:00000009999999990004:systeem:bvh", "s-1"}, // sources of the demo region
		{"ggz", "urn:nld:kvknr:99999901:systeem:epd", "s-2"},
	} {
		env.StoreEvent(t, s.partner, map[string]any{"specversion": "1.0", "id": s.id, "source": s.source,
			"type": events.TypeSignaal, "time": at, "subject": pseudonym, "datacontenttype": "application/json",
			"data": map[string]any{"bsn": bsn, "categorie": "verward-gedrag", "urgentie": "hoog",
				"contactpersoon": map[string]any{"naam": "A. de Boer"}}})
	}

	code, out, errOut := ketenbus(t, "", "samenloop", "rebuild", "--yes", "--config", regionFile,
		"--nats-url", env.URL, "--redis-url", rs.URL())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != "rebuilt the samenloop index from 2 events: 1 persons with active signalen\n" {
		t.Errorf("stdout %q", out)
	}
	if code, js, _ := ketenbus(t, "", "samenloop", "rebuild", "--yes", "--json", "--config", regionFile,
		"--nats-url", env.URL, "--redis-url", rs.URL()); code != 0 || js != `{"events":2,"persons":1}`+"\n" {
		t.Errorf("--json: exit %d, stdout %q", code, js)
	}
	if strings.Contains(out+errOut, bsn) || strings.Contains(out+errOut, pseudonym) {
		t.Errorf("the output names the person:\n%s\n%s", out, errOut)
	}

	ix, err := samenloopindex.New(rs.Client(t), samenloopindex.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := ix.Persons(ctx); err != nil || n != 1 {
		t.Errorf("index holds %d persons (err %v), want 1", n, err)
	}
	signals, members, err := ix.Person(ctx, pseudonym)
	if err != nil {
		t.Fatal(err)
	}
	if len(signals) != 2 || !slices.Equal(members, []string{"politie", "ggz"}) {
		t.Errorf("person has %d signalen and samenloop %v, want 2 and [politie ggz]", len(signals), members)
	}
	if n := len(env.Messages(t, events.StreamEvents)); n != 2 {
		t.Errorf("EVENTS holds %d events after the rebuild, want the 2 signalen: a rebuild publishes nothing", n)
	}
}
