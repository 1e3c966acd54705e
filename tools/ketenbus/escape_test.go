package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/timers"
)

// hostileID is an event id an older gateway accepted: a line feed, the
// escape sequence that clears a terminal and a NUL. Every command prints
// it escaped.
const (
	hostileID = "x-1\n\x1b[2J\x00"
	escapedID = `x-1\n\x1b[2J\x00`
)

const hostileSource = "urn:nld:oin:00000009999999990004:systeem:bvh"

// escaped checks text output: the id shows escaped, no raw control
// character is left but the line feeds that end lines, and there are
// lines lines.
func escaped(t *testing.T, what, out string, lines int) {
	t.Helper()
	if !strings.Contains(out, escapedID) {
		t.Errorf("%s does not show the id escaped as %s:\n%s", what, escapedID, out)
	}
	if strings.ContainsAny(out, "\x1b\x00\r") {
		t.Errorf("%s holds a raw control character: %q", what, out)
	}
	if n := strings.Count(strings.TrimSuffix(out, "\n"), "\n") + 1; n != lines {
		t.Errorf("%s has %d lines, want %d: a value broke a line:\n%s", what, n, lines, out)
	}
}

func TestTailEscapesControlCharacters(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	env.StoreEvent(t, "politie", map[string]any{"specversion": "1.0", "type": events.TypeSignaal, "source": hostileSource,
		"id": hostileID, "subject": personA, "time": "2026-11-24T09:30:00Z", "datacontenttype": "application/json",
		"data": map[string]any{"categorie": "schulden"}})
	conn := []string{"tail", "--config", regionFile, "--nats-url", env.URL, "--from-seq", "1", "--count", "1"}
	code, out, errOut := runFor(t, 20*time.Second, conn...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	escaped(t, "tail", out, 2)

	code, out, errOut = runFor(t, 20*time.Second, append(conn, "--json")...)
	var l map[string]any
	if err := json.Unmarshal([]byte(out), &l); code != 0 || err != nil || l["id"] != hostileID {
		t.Errorf("tail --json: exit %d, %v, id %q; stderr %s", code, err, l["id"], errOut)
	}
}

func TestDLQEscapesControlCharacters(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	body, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": hostileID, "source": hostileSource, "type": events.TypeSignaal,
		"data": map[string]any{"categorie": "schulden"}})
	m := nats.NewMsg(events.DLQSubject("ggz"))
	m.Data = body
	m.Header.Set(bus.HeaderPartner, "ggz")
	m.Header.Set(bus.HeaderSubscription, "signalen")
	m.Header.Set(bus.HeaderDLQReason, "request cannot be sent: event attribute id: forbidden character")
	m.Header.Set(bus.HeaderDLQAttempts, "1")
	ack, err := env.JS.PublishMsg(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	conn := []string{"--config", regionFile, "--nats-url", env.URL}

	code, out, errOut := ketenbus(t, "", append([]string{"dlq", "list"}, conn...)...)
	if code != 0 {
		t.Fatalf("dlq list: exit %d: %s", code, errOut)
	}
	escaped(t, "dlq list", out, 2)

	code, out, errOut = ketenbus(t, "", append([]string{"dlq", "list", "--json"}, conn...)...)
	var row dlqRow
	if err := json.Unmarshal([]byte(out), &row); code != 0 || err != nil || row.EventID != hostileID {
		t.Errorf("dlq list --json: exit %d, %v, id %q; stderr %s", code, err, row.EventID, errOut)
	}

	show := append([]string{"dlq", "show", "--id", strconv.FormatUint(ack.Sequence, 10)}, conn...)
	code, out, errOut = ketenbus(t, "", show...)
	if code != 0 {
		t.Fatalf("dlq show: exit %d: %s", code, errOut)
	}
	// The event prints as indented JSON, which escapes the id itself.
	if !strings.Contains(out, `"id": "x-1\n\u001b[2J\u0000"`) || strings.ContainsAny(out, "\x1b\x00") {
		t.Errorf("dlq show:\n%q", out)
	}
	code, out, errOut = ketenbus(t, "", append(show, "--json")...)
	var letter dlqLetter
	if err := json.Unmarshal([]byte(out), &letter); code != 0 || err != nil || !strings.Contains(string(letter.Event), `x-1\n\u001b[2J\u0000`) {
		t.Errorf("dlq show --json: exit %d, %v, event %s; stderr %s", code, err, letter.Event, errOut)
	}
}

func TestTimersEscapeControlCharacters(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	s, err := timers.New(rs.Client(t), timers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC)
	tm := timers.Timer{ID: events.MsgID(hostileSource, hostileID), Kind: "aanmelding",
		Betreft: timers.Ref{Source: hostileSource, ID: hostileID, Type: events.TypeAanmelding},
		Subject: personA, Ontvanger: "ggz", Sender: "politie", Level: 1, Reden: string(events.RedenTermijnVerstreken),
		Termijn: due.Add(-24 * time.Hour), Due: due}
	if err := s.Schedule(context.Background(), tm); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := ketenbus(t, "", "timers", "list", "--redis-url", rs.URL())
	if code != 0 {
		t.Fatalf("timers list: exit %d: %s", code, errOut)
	}
	escaped(t, "timers list", out, 2)

	code, out, errOut = ketenbus(t, "", "timers", "show", "--redis-url", rs.URL(), tm.ID)
	if code != 0 {
		t.Fatalf("timers show: exit %d: %s", code, errOut)
	}
	fields := 0 // every line is "key: value"
	for line := range strings.Lines(out) {
		if strings.Contains(line, ":") {
			fields++
		}
	}
	escaped(t, "timers show", out, fields)

	code, out, errOut = ketenbus(t, "", "timers", "show", "--json", "--redis-url", rs.URL(), tm.ID)
	var v timerView
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Betreft.ID != hostileID {
		t.Errorf("timers show --json: exit %d, %v, %+v; stderr %s", code, err, v, errOut)
	}
}

func TestAuditEscapesControlCharacters(t *testing.T) {
	key := strings.Repeat("k", region.KeySize)
	t.Setenv("KETENBUS_PSEUDONYM_KEY", base64.StdEncoding.EncodeToString([]byte(key)))
	pz, err := events.NewPseudonymizer([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	bsn := bsntest.Seeded(12, 1)[0]
	env := natstest.Start(t)
	at := time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)
	if err := audit.NewWriter(env.JS, nil).WriteAll(context.Background(), []audit.Entry{{Partner: "ggz", Record: audit.NewRecord(audit.Processing{
		Name: audit.NameDeliver, Activity: "urn:nld:ggz-voorbeeld:verwerkingsactiviteit:signalen", Partner: "ggz", Subscription: "signalen",
		Event:   audit.Event{ID: hostileID, Source: hostileSource, Type: events.TypeSignaal, Subject: pz.Pseudonym(bsn), Sequence: 7},
		Outcome: audit.OutcomeDelivered, Start: at, End: at.Add(time.Millisecond),
	})}}); err != nil {
		t.Fatal(err)
	}
	conn := []string{"audit", "--bsn", bsn, "--config", regionFile, "--nats-url", env.URL}
	code, out, errOut := ketenbus(t, "", conn...)
	if code != 0 {
		t.Fatalf("audit: exit %d: %s", code, errOut)
	}
	escaped(t, "audit", out, 3)

	code, out, errOut = ketenbus(t, "", append(conn, "--json")...)
	var r audit.Record
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil || r.Attr(audit.AttrEventID) != hostileID {
		t.Errorf("audit --json: exit %d, %v, %v; stderr %s", code, err, r.Attributes, errOut)
	}
}
