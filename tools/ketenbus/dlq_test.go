package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// dlqDelivery is a delivery the test stored on DELIVERY, as the router
// does.
type dlqDelivery struct {
	partner, subscription, eventID string
	seq                            uint64 // on DELIVERY
	body                           []byte
	header                         nats.Header
}

// dlqFixture runs the real webhook adapter of the demo region's gemeente
// and zvh against a sink that answers 400 (with the BSN in its body), so
// the deliveries the test stores become dead letters the adapter's way.
// The adapter is stopped once they are in the DLQ, so nothing it does
// races with the commands under test.
type dlqFixture struct {
	env        *natstest.Env
	bsn        string
	deliveries []dlqDelivery
}

func newDLQFixture(t *testing.T) *dlqFixture {
	t.Helper()
	f := &dlqFixture{env: natstest.Start(t), bsn: bsntest.Seeded(21, 1)[0]}

	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":"unknown person %s"}`, f.bsn)
	}))
	t.Cleanup(sink.Close)

	reg, err := region.Load(regionFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range reg.Partners {
		if w := reg.Partners[i].Delivery.Webhook; w != nil {
			hook := *w
			hook.URL = sink.URL + "/" + reg.Partners[i].ID
			hook.Handshake = false
			reg.Partners[i].Delivery.Webhook = &hook
		}
	}
	// A demo region generates every secret that is not set.
	secrets, _, err := reg.ResolveSecrets(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	keys, err := fieldcrypt.New(secrets.EncryptionKeys)
	if err != nil {
		t.Fatal(err)
	}

	f.store(t, keys, "gemeente", "aanmeldingen", "ev-gemeente-1")
	f.store(t, keys, "zvh", "signalen", "ev-zvh-1")
	f.store(t, keys, "gemeente", "aanmeldingen", "ev-gemeente-2")

	a, err := adapter.New(adapter.Config{Region: reg, Secrets: secrets, JetStream: f.env.JS,
		Partners: []string{"gemeente", "zvh"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	stop := runtest.Start(t, "adapter", a.Run)
	for deadline := time.Now().Add(15 * time.Second); len(f.env.Messages(t, events.StreamDLQ)) < len(f.deliveries); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d dead letters after 15s, want %d", len(f.env.Messages(t, events.StreamDLQ)), len(f.deliveries))
		}
	}
	stop()
	return f
}

// store puts a signaal on DELIVERY for partner's subscription as the router
// does: bsn sealed, the contract headers, the delivery id as Nats-Msg-Id
// and Ketenbus-Delivery-Id, and a TTL of an hour.
func (f *dlqFixture) store(t *testing.T, keys *fieldcrypt.Keys, partner, subscription, id string) {
	t.Helper()
	const source = "urn:nld:oin:00000009999999990004:systeem:bvh"
	ev, err := json.Marshal(map[string]any{"specversion": "1.0", "id": id, "source": source,
		"type": events.TypeSignaal, "time": "2026-04-02T10:00:00+02:00", "subject": strings.Repeat("ab", 32),
		"sequence": len(f.deliveries) + 1, "datacontenttype": "application/json",
		"data": map[string]any{"bsn": f.bsn, "categorie": "schulden", "urgentie": "hoog", "contactpersoon": map[string]any{"naam": "A. de Boer"}}})
	if err != nil {
		t.Fatal(err)
	}
	body, err := keys.Seal(ev, func(field string) bool { return field == "bsn" })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), f.bsn) {
		t.Fatal("the stored delivery holds the BSN in clear")
	}
	m := nats.NewMsg(events.DeliverySubject(partner))
	m.Data = body
	deliveryID := events.DeliveryID(partner, subscription, events.MsgID(source, id))
	m.Header.Set(jetstream.MsgIDHeader, deliveryID)
	m.Header.Set(bus.HeaderDeliveryID, deliveryID)
	m.Header.Set(bus.HeaderPartner, partner)
	m.Header.Set(bus.HeaderSubscription, subscription)
	m.Header.Set(bus.HeaderPurpose, "urn:nld:"+partner+":verwerkingsactiviteit:"+subscription)
	m.Header.Set(bus.HeaderEventSequence, strconv.Itoa(len(f.deliveries)+1))
	bus.SetTTL(m.Header, time.Hour)
	ack, err := f.env.JS.PublishMsg(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	f.deliveries = append(f.deliveries, dlqDelivery{partner: partner, subscription: subscription, eventID: id,
		seq: ack.Sequence, body: body, header: m.Header})
}

// dead returns the dead letters now in the DLQ by event id.
func (f *dlqFixture) dead(t *testing.T) map[string]*jetstream.RawStreamMsg {
	t.Helper()
	out := map[string]*jetstream.RawStreamMsg{}
	for _, m := range f.env.Messages(t, events.StreamDLQ) {
		var ev struct{ ID string }
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		out[ev.ID] = m
	}
	return out
}

func (f *dlqFixture) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	code, out, errOut := ketenbus(t, stdin, append(append([]string{"dlq"}, args...), "--config", regionFile, "--nats-url", f.env.URL)...)
	if strings.Contains(out+errOut, f.bsn) {
		t.Errorf("ketenbus dlq %s shows the BSN in clear:\n%s\n%s", strings.Join(args, " "), out, errOut)
	}
	return code, out, errOut
}

// TestDLQListAndShow: the adapter's dead letters are listed, as a table
// and as JSON lines, per partner and for all, filtered by --since; show
// prints one with its headers and its event as stored, the BSN sealed.
func TestDLQListAndShow(t *testing.T) {
	t.Parallel()
	f := newDLQFixture(t)
	dead := f.dead(t)

	code, out, errOut := f.run(t, "", "list")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "SEQ STORED PARTNER SUBSCRIPTION TYPE EVENT STATUS ATTEMPTS REASON" {
		t.Fatalf("list: stdout\n%s", out)
	}
	for _, line := range lines[1:] {
		cells := strings.Fields(line)
		ev := cells[5]
		m := dead[ev]
		if m == nil {
			t.Fatalf("list: a line for event %q, which is not in the DLQ:\n%s", ev, out)
		}
		want := []string{strconv.FormatUint(m.Sequence, 10), m.Time.UTC().Format(time.RFC3339),
			strings.TrimPrefix(m.Subject, "ketenbus.dlq."), m.Header.Get(bus.HeaderSubscription),
			events.TypeSignaal, ev, "400", "1", "http", "400"}
		if !slices.Equal(cells, want) {
			t.Errorf("list line %q, want %q", cells, want)
		}
	}

	code, out, errOut = f.run(t, "", "list", "--partner", "gemeente", "--json")
	if code != 0 {
		t.Fatalf("list --json: exit %d: %s", code, errOut)
	}
	var ids []string
	for _, r := range jsonLines[dlqRow](t, out) {
		m := dead[r.EventID]
		if m == nil || r.Seq != m.Sequence || r.Partner != "gemeente" || r.Subscription != "aanmeldingen" ||
			r.Reason != "http 400" || r.Status != 400 || r.Attempts != 1 || r.EventType != events.TypeSignaal ||
			!r.Stored.Equal(m.Time) || r.FirstAttempt == "" || r.LastAttempt == "" {
			t.Errorf("list --json row %+v", r)
		}
		ids = append(ids, r.EventID)
	}
	// The adapter delivers concurrently: the dead letters come in any order.
	if slices.Sort(ids); strings.Join(ids, ",") != "ev-gemeente-1,ev-gemeente-2" {
		t.Errorf("list --partner gemeente: events %v", ids)
	}

	if code, out, _ = f.run(t, "", "list", "--since", "2099-01-01T00:00:00Z"); code != 0 || out != "no dead letters\n" {
		t.Errorf("list --since in the future: exit %d, stdout %q", code, out)
	}
	if code, out, _ = f.run(t, "", "list", "--partner", "zvh", "--since", "1h"); code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "ev-zvh-1") {
		t.Errorf("list --partner zvh --since 1h: exit %d, stdout %q", code, out)
	}
	if code, out, _ = f.run(t, "", "list", "--partner", "ggz", "--json"); code != 0 || out != "" {
		t.Errorf("list --partner ggz --json, with no dead letters: exit %d, stdout %q", code, out)
	}

	zvh := dead["ev-zvh-1"]
	code, out, errOut = f.run(t, "", "show", "--id", strconv.FormatUint(zvh.Sequence, 10))
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, errOut)
	}
	sealed := sealedBSN(t, zvh.Data)
	for _, want := range []string{
		fmt.Sprintf("dead letter %d on ketenbus.dlq.zvh, stored ", zvh.Sequence),
		"  Ketenbus-Dlq-Reason: http 400\n", "  Ketenbus-Dlq-Status: 400\n", "  Ketenbus-Dlq-Attempts: 1\n",
		"  Ketenbus-Dlq-Body: {\"error\":\"unknown person [bsn]\"}\n", "  Ketenbus-Subscription: signalen\n",
		"  Ketenbus-Partner: zvh\n", "  Nats-Msg-Id: " + zvh.Header.Get(jetstream.MsgIDHeader) + "\n",
		"  Ketenbus-Dlq-First-Attempt: ", "  Nats-TTL: ", "\nevent:\n", `"id": "ev-zvh-1"`, `"bsn": "` + sealed + `"`,
		`"categorie": "schulden"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = f.run(t, "", "show", "--partner", "zvh", "--id", strconv.FormatUint(zvh.Sequence, 10), "--json")
	if code != 0 {
		t.Fatalf("show --json: exit %d: %s", code, errOut)
	}
	var shown struct {
		Seq     uint64
		Subject string
		Headers map[string][]string
		Event   struct {
			ID   string
			Data map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
	if shown.Seq != zvh.Sequence || shown.Subject != "ketenbus.dlq.zvh" || shown.Event.ID != "ev-zvh-1" ||
		shown.Event.Data["bsn"] != sealed || !slices.Equal(shown.Headers[bus.HeaderDLQReason], []string{"http 400"}) {
		t.Errorf("show --json: %+v", shown)
	}

	// Another partner's dead letter, or none at all, is not found.
	if code, _, errOut = f.run(t, "", "show", "--partner", "gemeente", "--id", strconv.FormatUint(zvh.Sequence, 10)); code != 1 ||
		!strings.Contains(errOut, fmt.Sprintf("no dead letter with id %d of gemeente", zvh.Sequence)) {
		t.Errorf("show of another partner's: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut = f.run(t, "", "show", "--id", "999"); code != 1 || !strings.Contains(errOut, "no dead letter with id 999") {
		t.Errorf("show --id 999: exit %d, stderr %q", code, errOut)
	}
}

// sealedBSN returns the sealed bsn of a stored event, failing the test
// when it is not sealed.
func sealedBSN(t *testing.T, body []byte) string {
	t.Helper()
	var ev struct{ Data struct{ BSN string } }
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ev.Data.BSN, "kb1.") {
		t.Fatalf("bsn %q is not sealed", ev.Data.BSN)
	}
	return ev.Data.BSN
}

// TestDLQRetryAndPurge: retry --id puts exactly that dead letter back on
// DELIVERY as the original delivery (subject, headers, data; a new
// Nats-Msg-Id, the TTL that is left) and deletes it from the DLQ; retry
// --all empties the partner's DLQ and leaves the other partner's alone;
// purge refuses without --yes when it cannot ask, and deletes with it.
func TestDLQRetryAndPurge(t *testing.T) {
	t.Parallel()
	f := newDLQFixture(t)
	dead := f.dead(t)
	first := dead["ev-gemeente-1"]
	original := f.deliveries[0]
	before := len(f.env.Messages(t, events.StreamDelivery))

	code, out, errOut := f.run(t, "", "retry", "--partner", "gemeente", "--id", strconv.FormatUint(first.Sequence, 10))
	if code != 0 || out != "retried 1 of 1 dead letters of gemeente onto ketenbus.deliver.gemeente\n" {
		t.Fatalf("retry --id: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	msgs := f.env.Messages(t, events.StreamDelivery)
	if len(msgs) != before+1 {
		t.Fatalf("DELIVERY holds %d messages after retry --id, want %d", len(msgs), before+1)
	}
	retried := msgs[len(msgs)-1]
	if retried.Subject != "ketenbus.deliver.gemeente" || string(retried.Data) != string(original.body) {
		t.Errorf("retried: subject %s, data\n%s\nwant the original's\n%s", retried.Subject, retried.Data, original.body)
	}
	without := func(h nats.Header) map[string][]string {
		m := maps.Clone(h)
		delete(m, jetstream.MsgIDHeader)
		delete(m, jetstream.MsgTTLHeader)
		return m
	}
	if got, want := without(retried.Header), without(original.header); !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("retried headers %v, want the original delivery's %v", got, want)
	}
	if id := retried.Header.Get(jetstream.MsgIDHeader); id == "" || id == original.header.Get(jetstream.MsgIDHeader) {
		t.Errorf("retried Nats-Msg-Id %q, want a new one (the original is %q)", id, original.header.Get(jetstream.MsgIDHeader))
	}
	if ttl, err := strconv.Atoi(retried.Header.Get(jetstream.MsgTTLHeader)); err != nil || ttl > 3600 || ttl < 3500 {
		t.Errorf("retried Nats-TTL %q, want what is left of the hour", retried.Header.Get(jetstream.MsgTTLHeader))
	}
	after := f.dead(t)
	if _, ok := after["ev-gemeente-1"]; ok || len(after) != 2 {
		t.Errorf("the DLQ after retry --id holds %v, want ev-gemeente-2 and ev-zvh-1", slices.Sorted(maps.Keys(after)))
	}
	if code, _, errOut = f.run(t, "", "retry", "--partner", "gemeente", "--id", strconv.FormatUint(first.Sequence, 10)); code != 1 || !strings.Contains(errOut, "no dead letter with id") {
		t.Errorf("retry of a retried dead letter: exit %d, stderr %q", code, errOut)
	}

	code, out, errOut = f.run(t, "", "retry", "--partner", "gemeente", "--all")
	if code != 0 || out != "retried 1 of 1 dead letters of gemeente onto ketenbus.deliver.gemeente\n" {
		t.Fatalf("retry --all: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	after = f.dead(t)
	if len(after) != 1 || after["ev-zvh-1"] == nil {
		t.Errorf("the DLQ after retry --all holds %v, want ev-zvh-1 only", slices.Sorted(maps.Keys(after)))
	}
	var deliveries []string
	for _, m := range f.env.Messages(t, events.StreamDelivery)[before:] {
		var ev struct{ ID string }
		_ = json.Unmarshal(m.Data, &ev)
		deliveries = append(deliveries, m.Subject+" "+ev.ID)
	}
	if want := []string{"ketenbus.deliver.gemeente ev-gemeente-1", "ketenbus.deliver.gemeente ev-gemeente-2"}; !slices.Equal(deliveries, want) {
		t.Errorf("DELIVERY got %q, want %q", deliveries, want)
	}
	if code, out, _ = f.run(t, "", "retry", "--partner", "gemeente", "--all"); code != 0 || out != "no dead letters of gemeente: nothing retried\n" {
		t.Errorf("retry --all with nothing left: exit %d, stdout %q", code, out)
	}

	// Purge without --yes and without a terminal to ask on: refused.
	zvh := strconv.FormatUint(after["ev-zvh-1"].Sequence, 10)
	for _, args := range [][]string{{"--all"}, {"--id", zvh}} {
		code, _, errOut = f.run(t, "y\n", append([]string{"purge", "--partner", "zvh"}, args...)...)
		if code != 2 || !strings.Contains(errOut, "pass --yes") {
			t.Errorf("purge %v without --yes: exit %d, stderr %q", args, code, errOut)
		}
		if n := len(f.dead(t)); n != 1 {
			t.Fatalf("purge without --yes left %d dead letters, want 1", n)
		}
	}
	code, out, errOut = f.run(t, "", "purge", "--partner", "zvh", "--id", zvh, "--yes")
	if code != 0 || out != "deleted 1 dead letters of zvh\n" {
		t.Errorf("purge --yes: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if n := len(f.dead(t)); n != 0 {
		t.Errorf("the DLQ holds %d dead letters after purge --yes", n)
	}
	if code, out, _ = f.run(t, "", "purge", "--partner", "zvh", "--all"); code != 0 || out != "no dead letters of zvh: nothing deleted\n" {
		t.Errorf("purge with nothing to delete: exit %d, stdout %q", code, out)
	}
}

// TestDLQPurgeAll: purge --all --yes deletes every dead letter of the
// partner, and only those.
func TestDLQPurgeAll(t *testing.T) {
	t.Parallel()
	f := newDLQFixture(t)
	code, out, errOut := f.run(t, "", "purge", "--partner", "gemeente", "--all", "--yes")
	if code != 0 || out != "deleted 2 dead letters of gemeente\n" {
		t.Fatalf("purge --all --yes: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if after := f.dead(t); len(after) != 1 || after["ev-zvh-1"] == nil {
		t.Errorf("the DLQ after purge --all holds %v, want ev-zvh-1 only", slices.Sorted(maps.Keys(after)))
	}
}

// TestDLQUsage: wrong command lines exit 2 before anything is read; no
// NATS listens here. NATS not reachable is exit 1.
func TestDLQUsage(t *testing.T) {
	t.Parallel()
	wantUsage(t, []string{"dlq"}, []string{"--config", regionFile, "--nats-url", "nats://127.0.0.1:1"}, []usageCase{
		{"unknown partner", []string{"list", "--partner", "nope"}, `partner "nope" is not in the region config ` + regionFile + `; known partners: gemeente, ggz, jeugdzorg, politie, `},
		{"retry without partner", []string{"retry", "--all"}, "retry needs --partner"},
		{"retry without selection", []string{"retry", "--partner", "ggz"}, "--id SEQ or --all"},
		{"purge with both", []string{"purge", "--partner", "ggz", "--id", "3", "--all"}, "give --id or --all, not both"},
		{"since with id", []string{"purge", "--partner", "ggz", "--id", "3", "--since", "1h"}, "--since goes with --all"},
		{"show without id", []string{"show"}, "name the dead letter: --id SEQ"},
		{"bad since", []string{"list", "--since", "yesterday"}, "--since \"yesterday\" is not an RFC 3339 time"},
		{"bad id", []string{"show", "--id", "x"}, "invalid argument"},
		{"argument", []string{"list", "ggz"}, "takes no arguments"},
	})
	code, _, errOut := ketenbus(t, "", "dlq", "list", "--config", regionFile, "--nats-url", "nats://127.0.0.1:1")
	if code != 1 || !strings.Contains(errOut, "connect to NATS") {
		t.Errorf("NATS down: exit %d, stderr %q", code, errOut)
	}
}

// TestDLQRedactsEventID: a publisher may put a BSN in its event id;
// dlq list and dlq show show it replaced.
func TestDLQRedactsEventID(t *testing.T) {
	t.Parallel()
	l := dlq.Letter{Seq: 7, Subject: events.DLQSubject("ggz"), Header: nats.Header{},
		Data: []byte(`{"specversion":"1.0","id":"melding-111222333","type":"nl.sociaaldomein.signaal.v1"}`)}
	if got := newDLQRow(l).EventID; got != "melding-[bsn]" {
		t.Errorf("list shows the event id as %q, want melding-[bsn]", got)
	}
	if got := string(showableEvent(l.Data)); !strings.Contains(got, `"id":"melding-[bsn]"`) {
		t.Errorf("show shows the event as %s, want the id melding-[bsn]", got)
	}
}
