package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// Sources of the demo region's partners.
const (
	srcPolitie   = "urn:nld:oin:00000009999999990004:systeem:bvh"
	srcWijkteam  = "urn:nld:oin:00000009999999990002:systeem:clientregistratie"
	srcGGZ       = "urn:nld:kvknr:99999901:systeem:epd"
	srcJeugdzorg = "urn:nld:kvknr:99999902:systeem:clientdossier"
)

// replayFixture is EVENTS with eight events of the demo region, one at
// each sequence 1..8, stored a few milliseconds apart.
type replayFixture struct {
	env *natstest.Env
	// at are the times JetStream stored the events, by sequence (at[0]
	// unused).
	at [9]time.Time
	// person1 and person2 are the pseudonyms the events are about.
	person1, person2 string
	// bsn is the BSN in clear of every event (sealed on EVENTS); sealed
	// is its sealed form in the overdracht (sequence 6).
	bsn, sealed string
	// msgIDs are the events' Nats-Msg-Ids, by sequence.
	msgIDs [9]string
}

// The fixture, by sequence: who gets it live in the demo region.
//
//	1 signaal      politie  person1  zvh (signalen, no bsn)
//	2 aanmelding   politie  person1  gemeente (ontvanger)
//	3 aanmelding   politie  person2  ggz (ontvanger)
//	4 aanmelding   wijkteam person2  gemeente (ontvanger)
//	5 signaal      ggz      person2  zvh
//	6 overdracht   jeugdzorg person2 wmo-team (ontvanger; fields list bsn)
//	7 aanmelding   politie  person1  gemeente (ontvanger)
//	8 bevestiging  ggz      person1  gemeente (ontvanger)
func newReplayFixture(t *testing.T) *replayFixture {
	t.Helper()
	f := &replayFixture{env: natstest.Start(t), person1: strings.Repeat("a1", 32), person2: strings.Repeat("b2", 32),
		bsn: bsntest.Seeded(21, 1)[0]}
	key := make([]byte, fieldcrypt.KeySize)
	_, _ = rand.Read(key)
	keys, err := fieldcrypt.New([][]byte{key})
	if err != nil {
		t.Fatal(err)
	}
	contact := map[string]any{"naam": "Wijkagent"}
	aanmelding := func(ontvanger string) map[string]any {
		return map[string]any{"bsn": f.bsn, "ontvanger": ontvanger, "reden": "zorgen over thuissituatie",
			"contactpersoon": contact, "reactietermijn": map[string]any{"werkdagen": 5}}
	}
	signaal := map[string]any{"bsn": f.bsn, "categorie": "overlast", "urgentie": "hoog", "toelichting": "Geluidsoverlast", "contactpersoon": contact}
	for i, e := range []struct {
		partner, source, typ, subject, ontvanger string
		data                                     map[string]any
	}{
		{"politie", srcPolitie, events.TypeSignaal, f.person1, "", signaal},
		{"politie", srcPolitie, events.TypeAanmelding, f.person1, "gemeente", aanmelding("gemeente")},
		{"politie", srcPolitie, events.TypeAanmelding, f.person2, "ggz", aanmelding("ggz")},
		{"wijkteam", srcWijkteam, events.TypeAanmelding, f.person2, "gemeente", aanmelding("gemeente")},
		{"ggz", srcGGZ, events.TypeSignaal, f.person2, "", signaal},
		{"jeugdzorg", srcJeugdzorg, events.TypeOverdrachtJeugdWmo, f.person2, "wmo-team", map[string]any{
			"bsn": f.bsn, "geboortedatum": "2008-12-01", "ontvanger": "wmo-team", "contactpersoon": contact}},
		{"politie", srcPolitie, events.TypeAanmelding, f.person1, "gemeente", aanmelding("gemeente")},
		{"ggz", srcGGZ, events.TypeBevestiging, f.person1, "gemeente", map[string]any{
			"betreft": map[string]any{"source": srcPolitie, "id": "ev-2"}, "status": "opgepakt"}},
	} {
		id := fmt.Sprintf("ev-%d", i+1)
		ev := map[string]any{"specversion": "1.0", "id": id, "source": e.source, "type": e.typ, "subject": e.subject,
			"time": "2026-11-24T09:30:00Z", "datacontenttype": "application/json", "data": e.data}
		if e.ontvanger != "" {
			ev["ontvanger"] = e.ontvanger
		}
		// Sealed as the gateway seals it.
		plain, _ := json.Marshal(ev)
		sealed, err := keys.Seal(plain, func(field string) bool { return slices.Contains(events.Default().SensitiveFields(e.typ), field) })
		if err != nil {
			t.Fatal(err)
		}
		var stored map[string]any
		if err := json.Unmarshal(sealed, &stored); err != nil {
			t.Fatal(err)
		}
		if bsn, _ := stored["data"].(map[string]any)["bsn"].(string); e.typ == events.TypeOverdrachtJeugdWmo {
			f.sealed = bsn
		}
		f.env.StoreEvent(t, e.partner, stored)
		f.msgIDs[i+1] = events.MsgID(e.source, id)
		time.Sleep(3 * time.Millisecond)
	}
	if !strings.HasPrefix(f.sealed, "kb1.") {
		t.Fatalf("the overdracht's bsn is not sealed: the fixture is wrong")
	}
	msgs := f.env.Messages(t, events.StreamEvents)
	if len(msgs) != 8 {
		t.Fatalf("EVENTS holds %d events, want 8", len(msgs))
	}
	for _, m := range msgs {
		f.at[m.Sequence] = m.Time
		if strings.Contains(string(m.Data), f.bsn) {
			t.Fatalf("EVENTS holds the BSN in clear at %d: the fixture is wrong", m.Sequence)
		}
	}
	return f
}

// conn returns the connection flags.
func (f *replayFixture) conn() []string {
	return []string{"--config", regionFile, "--nats-url", f.env.URL}
}

// replay runs ketenbus replay with args and the connection flags, and
// checks that no output holds the BSN.
func (f *replayFixture) replay(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	code, out, errOut := ketenbus(t, "", append(append([]string{"replay"}, args...), f.conn()...)...)
	if strings.Contains(out+errOut, f.bsn) {
		t.Errorf("the output holds the BSN:\n%s\n%s", out, errOut)
	}
	return code, out, errOut
}

// delivered is one message of DELIVERY.
type delivered struct {
	subject, partner, subscription, seq, replay, msgID string
	event                                              map[string]any
	raw                                                string
}

func (d delivered) data() map[string]any { m, _ := d.event["data"].(map[string]any); return m }

// deliveries returns DELIVERY, read through the JetStream API, and checks
// that no delivery holds the BSN in clear.
func (f *replayFixture) deliveries(t *testing.T) []delivered {
	t.Helper()
	var out []delivered
	for _, m := range f.env.Messages(t, events.StreamDelivery) {
		if strings.Contains(string(m.Data), f.bsn) {
			t.Errorf("delivery %s holds the BSN in clear", m.Subject)
		}
		var ev map[string]any
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, delivered{subject: m.Subject, partner: m.Header.Get(bus.HeaderPartner),
			subscription: m.Header.Get(bus.HeaderSubscription), seq: m.Header.Get(bus.HeaderEventSequence),
			replay: m.Header.Get(bus.HeaderReplay), msgID: m.Header.Get(jetstream.MsgIDHeader), event: ev, raw: string(m.Data)})
	}
	return out
}

// got summarises deliveries as "partner/subscription@seq", in order.
func got(ds []delivered) []string {
	var s []string
	for _, d := range ds {
		s = append(s, d.partner+"/"+d.subscription+"@"+d.seq)
	}
	return s
}

var replayIDLine = regexp.MustCompile(`(?m)^replay ([0-9a-f]{16}): delivering`)

// replayID returns the replay id printed at the start.
func replayID(t *testing.T, errOut string) string {
	t.Helper()
	m := replayIDLine.FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no replay id at the start; stderr:\n%s", errOut)
	}
	return m[1]
}

// TestReplayBySequence: gemeente gets exactly the events of the range it
// subscribes to, on its DELIVERY subject, with the live headers plus the
// replay id, a Nats-Msg-Id that is not the live one, and data without the
// bsn it does not list; no other partner gets anything. A second run is
// not taken for a duplicate of the first.
func TestReplayBySequence(t *testing.T) {
	t.Parallel()
	f := newReplayFixture(t)
	code, out, errOut := f.replay(t, "--partner", "gemeente", "--from-seq", "2", "--to-seq", "7", "--yes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	id := replayID(t, errOut)
	ds := f.deliveries(t)
	if want := []string{"gemeente/aanmeldingen@2", "gemeente/aanmeldingen@4", "gemeente/aanmeldingen@7"}; !slices.Equal(got(ds), want) {
		t.Fatalf("DELIVERY holds %v, want %v", got(ds), want)
	}
	for _, d := range ds {
		seq, _ := strconv.Atoi(d.seq)
		live := events.DeliveryID("gemeente", "aanmeldingen", f.msgIDs[seq])
		switch {
		case d.subject != events.DeliverySubject("gemeente"):
			t.Errorf("delivery on %s", d.subject)
		case d.replay != id:
			t.Errorf("Ketenbus-Replay %q, want the replay id %s", d.replay, id)
		case d.msgID == live || !strings.Contains(d.msgID, id):
			t.Errorf("Nats-Msg-Id %q: want one holding the replay id %s, not the live %s", d.msgID, id, live)
		case d.event["sequence"] != d.seq || d.event["id"] != fmt.Sprintf("ev-%d", seq):
			t.Errorf("delivery of event %v at sequence %v, header says %s", d.event["id"], d.event["sequence"], d.seq)
		}
		if _, ok := d.data()["bsn"]; ok || d.data()["reden"] == nil {
			t.Errorf("gemeente's aanmeldingen has no fields list: want every field but the bsn, got %v", d.data())
		}
	}
	want := "replay " + id + ": 4 events read, 3 deliveries stored\n"
	if !strings.HasPrefix(out, want) || !regexp.MustCompile(`(?m)^gemeente\s+nl.sociaaldomein.aanmelding.v1\s+3$`).MatchString(out) {
		t.Errorf("stdout\n%s\nwant %q and a row for gemeente", out, want)
	}

	// Again: a new replay id, stored again, not deduplicated.
	code, _, errOut = f.replay(t, "--partner", "gemeente", "--from-seq", "2", "--to-seq", "7", "--yes")
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errOut)
	}
	if id2 := replayID(t, errOut); id2 == id {
		t.Errorf("two runs with replay id %s", id)
	}
	if n := len(f.deliveries(t)); n != 6 {
		t.Errorf("after two runs DELIVERY holds %d deliveries, want 6", n)
	}
}

// TestReplayByTime: --since is included, --until excluded; with
// --all-partners each partner gets what it gets live, and only that.
func TestReplayByTime(t *testing.T) {
	t.Parallel()
	f := newReplayFixture(t)
	since, until := f.at[3].Format(time.RFC3339Nano), f.at[7].Format(time.RFC3339Nano)
	code, _, errOut := f.replay(t, "--partner", "gemeente", "--since", since, "--until", until, "--yes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if ds := f.deliveries(t); !slices.Equal(got(ds), []string{"gemeente/aanmeldingen@4"}) {
		t.Fatalf("--partner gemeente: DELIVERY holds %v, want only the aanmelding at 4", got(ds))
	}

	code, out, errOut := f.replay(t, "--all-partners", "--since", since, "--until", until, "--yes", "--json")
	if code != 0 {
		t.Fatalf("--all-partners: exit %d: %s", code, errOut)
	}
	ds := f.deliveries(t)[1:]
	want := []string{"ggz/aanmeldingen@3", "gemeente/aanmeldingen@4", "zvh/signalen@5", "wmo-team/overdrachten@6"}
	if !slices.Equal(got(ds), want) {
		t.Fatalf("--all-partners: DELIVERY holds %v, want %v", got(ds), want)
	}
	for _, d := range ds {
		if d.subject != events.DeliverySubject(d.partner) {
			t.Errorf("delivery for %s on %s", d.partner, d.subject)
		}
	}
	var s replaySummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if s.ReplayID != replayID(t, errOut) || s.Events != 4 || s.Deliveries != 4 || len(s.Counts) != 4 ||
		s.Counts[0] != (replayCount{Partner: "gemeente", Type: events.TypeAanmelding, Deliveries: 1}) {
		t.Errorf("--json summary %+v", s)
	}
}

// TestReplayKeepsFieldsSealed: the Wmo team lists bsn, so it gets the
// bsn: sealed, exactly as stored, for its adapter to open; zvh lists no
// bsn and gets none. The BSN in clear is nowhere (deliveries() and
// replay() check every delivery and all output).
func TestReplayKeepsFieldsSealed(t *testing.T) {
	t.Parallel()
	f := newReplayFixture(t)
	for _, p := range []string{"wmo-team", "zvh"} {
		if code, _, errOut := f.replay(t, "--partner", p, "--from-seq", "1", "--yes"); code != 0 {
			t.Fatalf("%s: exit %d: %s", p, code, errOut)
		}
	}
	ds := f.deliveries(t)
	if want := []string{"wmo-team/overdrachten@6", "zvh/signalen@1", "zvh/signalen@5"}; !slices.Equal(got(ds), want) {
		t.Fatalf("DELIVERY holds %v, want %v", got(ds), want)
	}
	if bsn := ds[0].data()["bsn"]; bsn != f.sealed {
		t.Errorf("wmo-team's bsn is %v, want it sealed as stored", bsn)
	}
	for _, d := range ds[1:] {
		if got := slices.Sorted(func(yield func(string) bool) {
			for k := range d.data() {
				if !yield(k) {
					return
				}
			}
		}); !slices.Equal(got, []string{"categorie", "contactpersoon", "urgentie"}) {
			t.Errorf("zvh's signaal has fields %v, want its allow-list", got)
		}
		if strings.Contains(d.raw, "kb1.") {
			t.Errorf("zvh's signaal holds a sealed field")
		}
	}
}

// TestReplayFilters: --type and --subject narrow the events; a type the
// partner does not subscribe to gives nothing.
func TestReplayFilters(t *testing.T) {
	t.Parallel()
	f := newReplayFixture(t)
	run := func(args ...string) []string {
		t.Helper()
		before := len(f.deliveries(t))
		code, out, errOut := f.replay(t, append(args, "--yes")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		if strings.Contains(out+errOut, f.person2) {
			t.Errorf("%v: the output names a person", args)
		}
		return got(f.deliveries(t)[before:])
	}
	if g := run("--partner", "gemeente", "--from-seq", "1", "--type", events.TypeBevestiging); !slices.Equal(g, []string{"gemeente/bevestigingen@8"}) {
		t.Errorf("--type bevestiging: %v", g)
	}
	if g := run("--partner", "gemeente", "--from-seq", "1", "--type", events.TypeBevestiging, "--type", events.TypeAanmelding); len(g) != 4 {
		t.Errorf("--type bevestiging --type aanmelding: %v, want 4 deliveries", g)
	}
	if g := run("--partner", "gemeente", "--from-seq", "1", "--subject", strings.ToUpper(f.person2)); !slices.Equal(g, []string{"gemeente/aanmeldingen@4"}) {
		t.Errorf("--subject person2: %v", g)
	}
	if g := run("--all-partners", "--from-seq", "1", "--subject", f.person1, "--type", events.TypeSignaal); !slices.Equal(g, []string{"zvh/signalen@1"}) {
		t.Errorf("--all-partners --subject person1 --type signaal: %v", g)
	}
	// gemeente subscribes to no signalen: nothing, replay or not.
	if g := run("--partner", "gemeente", "--from-seq", "1", "--type", events.TypeSignaal); len(g) != 0 {
		t.Errorf("--partner gemeente --type signaal: %v, want nothing", g)
	}
	if g := run("--partner", "woningcorporatie", "--from-seq", "1"); len(g) != 0 {
		t.Errorf("--partner woningcorporatie (samenloop only): %v, want nothing", g)
	}
}

// TestReplayDryRun counts per partner and type and publishes nothing.
func TestReplayDryRun(t *testing.T) {
	t.Parallel()
	f := newReplayFixture(t)
	code, out, errOut := f.replay(t, "--all-partners", "--from-seq", "1", "--dry-run", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	counts := jsonLines[replayCount](t, out)
	want := []replayCount{
		{"gemeente", events.TypeAanmelding, 3}, {"gemeente", events.TypeBevestiging, 1},
		{"ggz", events.TypeAanmelding, 1}, {"wmo-team", events.TypeOverdrachtJeugdWmo, 1}, {"zvh", events.TypeSignaal, 2},
	}
	if !slices.Equal(counts, want) {
		t.Errorf("dry run counts %v, want %v", counts, want)
	}
	if !strings.Contains(errOut, "dry run: 8 events read, 8 deliveries would be sent") {
		t.Errorf("stderr %q", errOut)
	}
	code, out, errOut = f.replay(t, "--partner", "zvh", "--from-seq", "1", "--dry-run")
	if code != 0 || !strings.HasPrefix(out, "dry run: 2 events read, 2 deliveries would be sent\n") ||
		!regexp.MustCompile(`(?m)^zvh\s+nl.sociaaldomein.signaal.v1\s+2$`).MatchString(out) {
		t.Errorf("table: exit %d, stdout\n%s\nstderr %s", code, out, errOut)
	}
	if ds := f.deliveries(t); len(ds) != 0 {
		t.Errorf("a dry run published %v", got(ds))
	}
}

// TestReplayRate: at 20 deliveries a second, 8 deliveries take at least
// 0.35 s.
func TestReplayRate(t *testing.T) {
	t.Parallel()
	f := newReplayFixture(t)
	start := time.Now()
	if code, _, errOut := f.replay(t, "--all-partners", "--from-seq", "1", "--rate", "20/s", "--yes"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Errorf("8 deliveries at 20/s took %v", d)
	}
	if n := len(f.deliveries(t)); n != 8 {
		t.Errorf("%d deliveries, want 8", n)
	}
}

// TestReplayUsage: wrong command lines exit 2 and publish nothing; a
// subject that is not a pseudonym is not repeated.
func TestReplayUsage(t *testing.T) {
	t.Parallel()
	bsn := bsntest.Seeded(22, 1)[0]
	conn := []string{"--config", regionFile, "--nats-url", "nats://127.0.0.1:1"}
	wantUsage(t, []string{"replay"}, conn, []usageCase{
		{"no --yes without a terminal", []string{"--partner", "gemeente", "--from-seq", "1"}, "pass --yes"},
		{"no partner", []string{"--from-seq", "1", "--yes"}, "--partner P, or --all-partners"},
		{"both partner flags", []string{"--partner", "gemeente", "--all-partners", "--from-seq", "1", "--yes"}, "not both"},
		{"unknown partner", []string{"--partner", "nobody", "--from-seq", "1", "--yes"}, `"nobody" is not a partner of region demo; its partners: gemeente, wijkteam`},
		{"no range", []string{"--partner", "gemeente", "--yes"}, "give the range"},
		{"time and sequence", []string{"--partner", "gemeente", "--from-seq", "1", "--since", "2026-01-01T00:00:00Z", "--yes"}, "not both"},
		{"until without since", []string{"--partner", "gemeente", "--until", "2026-01-01T00:00:00Z", "--yes"}, "--until needs --since"},
		{"to-seq without from-seq", []string{"--partner", "gemeente", "--to-seq", "9", "--yes"}, "--to-seq needs --from-seq"},
		{"to-seq before from-seq", []string{"--partner", "gemeente", "--from-seq", "9", "--to-seq", "3", "--yes"}, "before --from-seq"},
		{"bad time", []string{"--partner", "gemeente", "--since", "yesterday", "--yes"}, "not an RFC 3339 time"},
		{"until before since", []string{"--partner", "gemeente", "--since", "2026-01-02T00:00:00Z", "--until", "2026-01-01T00:00:00Z", "--yes"}, "--until must be after --since"},
		{"unknown type", []string{"--partner", "gemeente", "--from-seq", "1", "--type", "signaal", "--yes"},
			`--type "signaal" is not an event type; the types: ` + strings.Join(events.Types(), ", ")},
		{"BSN as subject", []string{"--partner", "gemeente", "--from-seq", "1", "--subject", bsn, "--yes"}, "--subject is not a pseudonym"},
		{"BSN as argument", []string{bsn, "--partner", "gemeente", "--from-seq", "1", "--yes"}, "takes no arguments"},
		{"BSN as sequence", []string{"--partner", "gemeente", "--from-seq", bsn + "x", "--yes"}, "[number]"},
		{"bad rate", []string{"--partner", "gemeente", "--from-seq", "1", "--rate", "fast", "--yes"}, "--rate"},
		{"zero rate", []string{"--partner", "gemeente", "--from-seq", "1", "--rate", "0", "--yes"}, "--rate"},
	}, bsn)
}

// TestReplayNATSDown: a NATS error is a failure, exit 1.
func TestReplayNATSDown(t *testing.T) {
	t.Parallel()
	code, _, errOut := ketenbus(t, "", "replay", "--partner", "gemeente", "--from-seq", "1", "--yes",
		"--config", regionFile, "--nats-url", "nats://127.0.0.1:1")
	if code != 1 || !strings.Contains(errOut, "connect to NATS") {
		t.Errorf("exit %d, stderr %q: want 1", code, errOut)
	}
}
