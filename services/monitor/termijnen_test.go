package monitor_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/monitor/monitortest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// TestTermijnenSurviveTimersOutOfRange: timers stored before the gateway
// bounded time (a term in the year 10000, one of 1900) are on the
// Termijnen page beside an ordinary one, the one beyond year 9998 marked.
func TestTermijnenSurviveTimersOutOfRange(t *testing.T) {
	t.Parallel()
	reg := accessRegionConfig(t)
	rs := redistest.Start(t)
	rdb := rs.Client(t)
	store, err := timers.New(rdb, timers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const source = "urn:nld:oin:00000009999999990001:systeem:bvh"
	mk := func(id string, due time.Time) timers.Timer {
		return timers.Timer{ID: events.MsgID(source, id), Kind: "aanmelding", Betreft: timers.Ref{Source: source, ID: id, Type: events.TypeAanmelding},
			Subject: strings.Repeat("ab", 32), Ontvanger: "ggz", Sender: "politie", Level: 1,
			Reden: string(events.RedenTermijnVerstreken), Termijn: due, Due: due}
	}
	for _, tm := range []timers.Timer{
		mk("a-gewoon", time.Now().Add(48*time.Hour).Truncate(time.Second)),
		mk("a-9999", time.Date(10000, 1, 8, 0, 0, 0, 0, time.UTC)),
		mk("a-1900", time.Date(1900, 1, 8, 0, 0, 0, 0, time.UTC)),
	} {
		if err := store.Schedule(context.Background(), tm); err != nil {
			t.Fatal(err)
		}
	}
	base := monitortest.Serve(t, monitor.Config{Region: reg, JetStream: natstest.Start(t).JS, Redis: rdb, Auth: monitor.Auth{Open: true}})
	status, body := do(t, http.DefaultClient, http.MethodGet, base+"/termijnen", nil, nil)
	if status.StatusCode != 200 {
		t.Fatalf("status %d: %s", status.StatusCode, body)
	}
	rows := strings.Count(body, "<tr data-due=")
	if rows != 3 || !strings.Contains(body, "08-01-10000") || !strings.Contains(body, "08-01-1900") {
		t.Fatalf("%d terms on the page, want the three with their dates:\n%s", rows, body)
	}
	if n := strings.Count(body, "buiten bereik"); n != 1 {
		t.Errorf("%d terms marked out of range, want the one of the year 10000", n)
	}
}
