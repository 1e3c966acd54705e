package e2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// e2eRegion has four webhook partners and one NATS-native partner, each
// subscribed differently:
//
//   - politie publishes signalen and aanmeldingen but subscribes only to
//     bevestigingen (not to signaal); its webhook takes a bearer token;
//   - zvh lists bsn among its fields, and subscribes to aanmeldingen too,
//     which must not bring it aanmeldingen directed at someone else;
//   - wijkteam lists a subset of the fields, without bsn;
//   - veiligthuis has a CESQL filter that keeps out signalen not from
//     politie, and no field list (every field but the sensitive ones);
//   - ggz takes its aanmeldingen over NATS, without bsn (a sensitive field
//     stays encrypted in DELIVERY, so only webhooks can carry it).
var e2eRegion = e2etest.MustRead("testdata/e2e.yaml")

// received is one event a partner's handler was called with.
type received struct {
	event cloudevents.Event
	// id is the delivery's idempotency key, the delivery id: webhook-id for
	// a webhook, Ketenbus-Delivery-Id over NATS.
	id string
	// partner and subscription are what the delivery's headers name.
	partner, subscription string
}

// recorder is a partner's handler that keeps every event it is called
// with. fail, when set, may turn a call into an error before it is kept.
type recorder struct {
	fail func(e cloudevents.Event, calls int) error

	mu    sync.Mutex
	got   []received
	calls map[string]int
}

func (r *recorder) handle(ctx context.Context, e cloudevents.Event) error {
	d, _ := partner.DeliveryFromContext(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[e.ID()]++
	if r.fail != nil {
		if err := r.fail(e, r.calls[e.ID()]); err != nil {
			return err
		}
	}
	r.got = append(r.got, received{event: e, id: d.ID, partner: d.Header.Get(partner.HeaderPartner), subscription: d.Subscription})
	return nil
}

func (r *recorder) events() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *recorder) has(id string) bool {
	return slices.ContainsFunc(r.events(), func(x received) bool { return x.event.ID() == id })
}

// TestEventsReachExactlyTheSubscribedPartners posts signalen (a batch and a
// single event from two partners), an aanmelding directed at ggz and the
// bevestiging ggz sends back through the gateway over HTTP, and checks what
// every partner received: exactly the events its subscriptions select, no
// more, no fewer; each request's signature verified by the partner SDK;
// webhook-id the delivery id; data holding exactly the allowed fields (bsn
// only where listed); the pseudonym as subject; sequence the event's EVENTS
// sequence. One delivery fails once (503) and is retried. The logs of
// gateway, router and adapter, captured throughout, never hold a BSN, a
// token or a webhook secret.
func TestEventsReachExactlyTheSubscribedPartners(t *testing.T) {
	t.Parallel()
	webhookPartners := []string{"politie", "zvh", "wijkteam", "veiligthuis"}
	f := newFixture(t, natstest.Start(t), append(webhookPartners, "ggz")...)

	recorders := map[string]*recorder{}
	sinks := map[string]*sink{}
	urls := map[string]string{}
	for _, id := range webhookPartners {
		recorders[id] = &recorder{}
		token := ""
		if id == "politie" {
			token = f.hookToken(id)
		}
		sinks[id] = f.sink(t, id, token, recorders[id].handle)
		urls[id] = sinks[id].url
	}
	// zvh's system is busy the first time s-3 arrives: it asks for a retry
	// after a second (503, Retry-After: 1).
	recorders["zvh"].fail = func(e cloudevents.Event, calls int) error {
		if e.ID() == "s-3" && calls == 1 {
			return partner.RetryAfter(errors.New("database busy"), time.Second)
		}
		return nil
	}
	f.load(t, e2eRegion, urls)
	f.startGateway(t, nil)
	f.startRouter(t, nil)
	f.startAdapter(t, nil)
	ggz := &recorder{}
	ggzJS := f.connect(t)
	runtest.Start(t, "ggz consumer", func(ctx context.Context) error {
		return partner.Consume(ctx, ggzJS, partner.ConsumeConfig{Consumer: "ggz", Partner: "ggz", Create: true}, ggz.handle)
	})

	bsns := bsntest.Seeded(2026, 4)
	s1 := signaal("s-1", sourcePolitie, bsns[0], "verward-gedrag", "hoog", "Man loopt verward over straat",
		map[string]any{"naam": "Wijkagent De Vries", "telefoon": "050-1234567"})
	s2 := signaal("s-2", sourcePolitie, bsns[1], "overlast", "midden", "",
		map[string]any{"naam": "Wijkagent Bakker"})
	s3 := signaal("s-3", sourceWijkteam, bsns[2], "schulden", "laag", "Betalingsachterstanden huur",
		map[string]any{"naam": "Consulent Jansen", "email": "jansen@wijkteam.example"})
	a1 := e2etest.Event("a-1", sourcePolitie, events.TypeAanmelding, map[string]any{
		"bsn": bsns[3], "ontvanger": "ggz", "reden": "Zorgen over psychische gesteldheid",
		"contactpersoon": map[string]any{"naam": "Wijkagent De Vries"},
		"reactietermijn": map[string]any{"werkdagen": 5},
	})
	b1 := e2etest.Event("b-1", sourceGGZ, events.TypeBevestiging, map[string]any{
		"betreft": map[string]any{"source": sourcePolitie, "id": "a-1"}, "status": "opgepakt",
	})
	posted := map[string]map[string]any{"s-1": s1, "s-2": s2, "s-3": s3, "a-1": a1, "b-1": b1}

	// Two refusals, so the log holds the gateway's refusal lines too: a
	// token the gateway does not know, and a BSN where the pseudonym goes.
	wrongToken := "tok-politie-" + strings.Repeat("0", 24)
	if status, _, err := f.post(wrongToken, events.ContentTypeStructured, s1); err != nil || status != http.StatusUnauthorized {
		t.Fatalf("unknown token: status %d, %v; want 401", status, err)
	}
	withBSN := maps.Clone(s2)
	withBSN["id"], withBSN["subject"] = "s-bsn", bsns[1]
	if status, _, err := f.post(f.token("politie"), events.ContentTypeStructured, withBSN); err != nil || status != http.StatusBadRequest {
		t.Fatalf("BSN as subject: status %d, %v; want 400", status, err)
	}

	seqs := f.postEvents(t, "politie", s1, s2)
	maps.Copy(seqs, f.postEvents(t, "wijkteam", s3))
	maps.Copy(seqs, f.postEvents(t, "politie", a1))
	// ggz answers the aanmelding once it has it.
	runtest.Eventually(t, 10*time.Second, "aanmelding at ggz", func() bool { return ggz.has("a-1") })
	maps.Copy(seqs, f.postEvents(t, "ggz", b1))

	f.settle(t, 20*time.Second,
		consumer{events.StreamEvents, "router"},
		consumer{events.StreamDelivery, "adapter-politie"},
		consumer{events.StreamDelivery, "adapter-zvh"},
		consumer{events.StreamDelivery, "adapter-wijkteam"},
		consumer{events.StreamDelivery, "adapter-veiligthuis"},
		consumer{events.StreamDelivery, "ggz"},
	)

	nonSensitive := []string{} // no field list: every field but bsn
	want := map[string]struct {
		ids    []string
		fields []string
	}{
		"politie":     {[]string{"b-1"}, nonSensitive},
		"zvh":         {[]string{"s-1", "s-2", "s-3"}, []string{"bsn", "categorie", "urgentie"}},
		"wijkteam":    {[]string{"s-1", "s-2", "s-3"}, []string{"categorie", "contactpersoon"}},
		"veiligthuis": {[]string{"s-1", "s-2"}, nonSensitive},
		"ggz":         {[]string{"a-1"}, []string{"ontvanger", "reden"}},
	}
	recorders["ggz"] = ggz
	for id, w := range want {
		t.Run(id, func(t *testing.T) {
			got := recorders[id].events()
			var gotIDs []string
			for _, r := range got {
				gotIDs = append(gotIDs, r.event.ID())
			}
			sort.Strings(gotIDs)
			if !slices.Equal(gotIDs, w.ids) {
				t.Fatalf("received %v, want exactly %v", gotIDs, w.ids)
			}
			for _, r := range got {
				if r.partner != id {
					t.Errorf("%s: the delivery names partner %q", r.event.ID(), r.partner)
				}
				checkEvent(t, f, r, posted[r.event.ID()], seqs[r.event.ID()], w.fields)
			}
			s, ok := sinks[id]
			if !ok {
				return // over NATS
			}
			statuses, posts, handled := s.counts()
			if handled != posts {
				t.Errorf("%d POSTs, %d reached the handler: the Receiver refused some (%v)", posts, handled, statuses)
			}
			wantStatuses := map[int]int{http.StatusNoContent: len(w.ids)}
			if id == "zvh" {
				wantStatuses[http.StatusServiceUnavailable] = 1 // s-3's first attempt
			}
			if !maps.Equal(statuses, wantStatuses) {
				t.Errorf("POSTs answered %v, want %v", statuses, wantStatuses)
			}
		})
	}

	// JetStream holds the BSNs only sealed: every stream, every message,
	// headers included, read back through the API.
	t.Run("streams", func(t *testing.T) {
		for _, stream := range []string{events.StreamEvents, events.StreamDelivery, events.StreamDLQ, events.StreamAudit} {
			msgs := f.env.Messages(t, stream)
			if stream == events.StreamEvents && len(msgs) == 0 {
				t.Fatal("EVENTS is empty: the scan is not looking")
			}
			for _, m := range msgs {
				text := string(m.Data) + fmt.Sprint(m.Header)
				for i, bsn := range bsns {
					if strings.Contains(text, bsn) {
						t.Errorf("%s at %d (%s) holds BSN %d", stream, m.Sequence, m.Subject, i+1)
					}
				}
			}
		}
	})

	t.Run("logs", func(t *testing.T) {
		logs := f.logs.String()
		for _, service := range []string{"gateway", "router", "adapter"} {
			if !strings.Contains(logs, `"service":"`+service+`"`) {
				t.Errorf("nothing logged by the %s: the capture is not working", service)
			}
		}
		secrets := map[string]string{"the unknown token": wrongToken}
		for i, bsn := range bsns {
			secrets[fmt.Sprintf("BSN %d", i+1)] = bsn
		}
		for name, v := range f.vars {
			secrets[name] = v
			if raw, ok := strings.CutPrefix(v, "whsec_"); ok {
				secrets[name+" without its prefix"] = raw
			}
		}
		secrets["the pseudonym key (raw base64)"] = base64.RawStdEncoding.EncodeToString(f.secrets.PseudonymKey)
		for name, v := range secrets {
			if strings.Contains(logs, v) {
				t.Errorf("the logs hold %s", name)
			}
		}
	})
}

// checkEvent checks one received event against the event as posted: type
// and source kept, pseudonym as subject, ontvanger as posted, sequence the
// EVENTS sequence, idempotency key the delivery id of the partner's
// subscription the delivery names, and data exactly the posted data
// reduced to fields (empty: every field but bsn).
func checkEvent(t *testing.T, f *fixture, r received, posted map[string]any, seq uint64, fields []string) {
	t.Helper()
	e := r.event
	if r.partner == "" || r.subscription == "" || r.id != events.DeliveryID(r.partner, r.subscription, events.MsgID(e.Source(), e.ID())) {
		t.Errorf("%s: webhook-id %q is not the delivery id for %s/%s", e.ID(), r.id, r.partner, r.subscription)
	}
	if e.Type() != posted["type"] || e.Source() != posted["source"] {
		t.Errorf("%s: type %s, source %s; posted %s, %s", e.ID(), e.Type(), e.Source(), posted["type"], posted["source"])
	}
	data := posted["data"].(map[string]any)
	wantSubject := ""
	if bsn, ok := data["bsn"].(string); ok {
		wantSubject = f.pseudonym(t, bsn)
	}
	if e.Subject() != wantSubject {
		t.Errorf("%s: subject %q, want the pseudonym %q", e.ID(), e.Subject(), wantSubject)
	}
	if e.Subject() != "" && len(e.Subject()) != events.PseudonymLen {
		t.Errorf("%s: subject %q is not a pseudonym", e.ID(), e.Subject())
	}
	if want, ok := data["ontvanger"]; ok || e.Type() == events.TypeBevestiging {
		if e.Type() == events.TypeBevestiging {
			want = "politie" // the owner of betreft.source
		}
		if got := e.Extensions()[events.ExtensionOntvanger]; got != want {
			t.Errorf("%s: ontvanger %v, want %v", e.ID(), got, want)
		}
	}
	if got, ok := partner.Sequence(e); !ok || got != seq {
		t.Errorf("%s: sequence %v (set: %v), want the EVENTS sequence %d", e.ID(), e.Extensions()[partner.ExtensionSequence], ok, seq)
	}

	wantData := map[string]any{}
	for k, v := range data {
		if (len(fields) == 0 && k != "bsn") || slices.Contains(fields, k) {
			wantData[k] = v
		}
	}
	var gotData map[string]any
	if err := json.Unmarshal(e.Data(), &gotData); err != nil {
		t.Fatalf("%s: data %s: %v", e.ID(), e.Data(), err)
	}
	if !reflect.DeepEqual(gotData, roundTrip(t, wantData)) {
		t.Errorf("%s: data %s, want exactly %v", e.ID(), e.Data(), wantData)
	}
}

// roundTrip returns v as encoding/json decodes it (numbers as float64).
func roundTrip(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// signaal is a signaal event from source about bsn; an empty toelichting
// is left out.
func signaal(id, source, bsn, categorie, urgentie, toelichting string, contactpersoon map[string]any) map[string]any {
	data := map[string]any{"bsn": bsn, "categorie": categorie, "urgentie": urgentie, "contactpersoon": contactpersoon}
	if toelichting != "" {
		data["toelichting"] = toelichting
	}
	return e2etest.Event(id, source, events.TypeSignaal, data)
}

// idRegion: politie and ggz both publish signalen; zvh subscribes to all
// of them ("signalen") and, with another purpose and other fields, to
// those of politie ("politie-signalen"), so a politie signaal matches two
// of its subscriptions.
var idRegion = e2etest.MustRead("testdata/ids.yaml")

// handled is one delivery a handler processed.
type handled struct {
	source, id, subscription, deliveryID string
	fields                               []string
}

// TestSameIDFromTwoSourcesAndTwoSubscriptions: politie and ggz both send
// id x-1 to zvh, which runs the partner SDK's Receiver with an idempotency
// store. Each delivery has its own webhook-id, the delivery id, so all
// three are handled: ggz's x-1, and politie's x-1 once per subscription,
// each naming its subscription and holding that subscription's fields. A
// retry (the handler fails once), a retry from the DLQ (it rejects once)
// and a replay of those deliveries carry the same webhook-ids, and the
// replay is answered as duplicates without calling the handler again.
func TestSameIDFromTwoSourcesAndTwoSubscriptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, natstest.Start(t), "politie", "ggz", "zvh")
	var mu sync.Mutex
	var got []handled
	calls := map[string]int{}
	h := func(ctx context.Context, e cloudevents.Event) error {
		d, _ := partner.DeliveryFromContext(ctx)
		mu.Lock()
		defer mu.Unlock()
		calls[d.ID]++
		switch {
		case e.Source() == sourceGGZ && calls[d.ID] == 1:
			return errors.New("database busy") // 500: retried
		case d.Subscription == "politie-signalen" && calls[d.ID] == 1:
			return partner.Reject(errors.New("not yet configured")) // 400: the DLQ
		}
		var data map[string]any
		if err := e.DataAs(&data); err != nil {
			return partner.Reject(err)
		}
		var fields []string
		for k := range data {
			fields = append(fields, k)
		}
		slices.Sort(fields)
		got = append(got, handled{source: e.Source(), id: e.ID(), subscription: d.Subscription, deliveryID: d.ID, fields: fields})
		return nil
	}
	zvh := f.sinkWith(t, "zvh", partner.ReceiverConfig{Idempotency: partner.NewMemoryStore(time.Hour, 100)}, h)
	f.load(t, idRegion, map[string]string{"zvh": zvh.url})
	f.startGateway(t, nil)
	f.startRouter(t, nil)
	f.startAdapter(t, nil)

	signaal := func(source string) map[string]any {
		return e2etest.Event("x-1", source, events.TypeSignaal, map[string]any{
			"bsn": bsntest.Seeded(11, 1)[0], "categorie": "overlast", "urgentie": "hoog",
			"toelichting": "Overlast in de portiek", "contactpersoon": map[string]any{"naam": "T. Tester"},
		})
	}
	f.postEvents(t, "politie", signaal(sourcePolitie))
	f.postEvents(t, "ggz", signaal(sourceGGZ))

	ids := map[string]string{ // by subscription/source
		"signalen/politie":         events.DeliveryID("zvh", "signalen", events.MsgID(sourcePolitie, "x-1")),
		"politie-signalen/politie": events.DeliveryID("zvh", "politie-signalen", events.MsgID(sourcePolitie, "x-1")),
		"signalen/ggz":             events.DeliveryID("zvh", "signalen", events.MsgID(sourceGGZ, "x-1")),
	}
	// politie's delivery for politie-signalen was rejected once: retry it
	// from the DLQ.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := dlq.Open(ctx, f.env.JS)
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	runtest.Eventually(t, 10*time.Second, "the rejected delivery in the DLQ", func() bool {
		msgs := f.env.Messages(t, events.StreamDLQ)
		if len(msgs) == 1 {
			seq = msgs[0].Sequence
		}
		return len(msgs) == 1
	})
	letter, err := store.Get(ctx, "zvh", seq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.env.JS.PublishMsg(ctx, letter.Redelivery(time.Now())); err != nil {
		t.Fatal(err)
	}
	runtest.Eventually(t, 10*time.Second, "three deliveries handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 3
	})

	mu.Lock()
	want := []handled{
		{sourceGGZ, "x-1", "signalen", ids["signalen/ggz"], []string{"categorie"}},
		{sourcePolitie, "x-1", "politie-signalen", ids["politie-signalen/politie"], []string{"categorie", "urgentie"}},
		{sourcePolitie, "x-1", "signalen", ids["signalen/politie"], []string{"categorie"}},
	}
	have := slices.Clone(got)
	mu.Unlock()
	slices.SortFunc(have, func(a, b handled) int { return strings.Compare(a.source+a.subscription, b.source+b.subscription) })
	if !slices.EqualFunc(have, want, func(a, b handled) bool {
		return a.source == b.source && a.id == b.id && a.subscription == b.subscription && a.deliveryID == b.deliveryID && slices.Equal(a.fields, b.fields)
	}) {
		t.Fatalf("handled\n%+v\nwant\n%+v", have, want)
	}

	// A replay of zvh's deliveries: the same webhook-ids, answered 200 as
	// duplicates, the handler not called again.
	before := len(zvh.received())
	if _, err := router.Replay(ctx, router.ReplayConfig{Region: f.region, JetStream: f.env.JS,
		Partners: []string{"zvh"}, Range: streams.ReplayOptions{FromSeq: 1}}); err != nil {
		t.Fatal(err)
	}
	runtest.Eventually(t, 10*time.Second, "the replay at zvh", func() bool { return len(zvh.received()) == before+3 })
	f.settle(t, 10*time.Second, consumer{events.StreamDelivery, "adapter-zvh"})

	posts := zvh.received()
	byID := map[string][]int{}
	for _, p := range posts {
		byID[p.webhookID] = append(byID[p.webhookID], p.status)
	}
	wantStatuses := map[string][]int{
		ids["signalen/ggz"]:             {500, 204, 200}, // retried, then replayed
		ids["politie-signalen/politie"]: {400, 204, 200}, // to the DLQ, retried from it, then replayed
		ids["signalen/politie"]:         {204, 200},      // delivered, then replayed
	}
	if len(byID) != len(wantStatuses) {
		t.Errorf("POSTs with %d webhook-ids, want %d: %v", len(byID), len(wantStatuses), byID)
	}
	for id, want := range wantStatuses {
		if !slices.Equal(byID[id], want) {
			t.Errorf("webhook-id %s: answers %v, want %v", id, byID[id], want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Errorf("the handler processed %d deliveries after the replay, want still 3", len(got))
	}
}
