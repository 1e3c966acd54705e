package e2e_test

import (
	"context"
	"errors"
	"slices"
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
