package router_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

const (
	sourcePolitie = "urn:nld:oin:00000009999999990001:systeem:bvh"
	sourceWijk    = "urn:nld:oin:00000009999999990003:systeem:regie"
	pseudonym     = "5f0c6e2d9a0b4c1d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"
)

// storeEvent puts an event on EVENTS as the gateway would.
func storeEvent(t *testing.T, env *natstest.Env, partner, typ, source, id string, data map[string]any, ontvanger string) {
	t.Helper()
	ev := map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": typ,
		"subject": pseudonym, "time": "2026-11-24T09:30:00Z", "datacontenttype": "application/json", "data": data,
	}
	if ontvanger != "" {
		ev["ontvanger"] = ontvanger
	}
	env.StoreEvent(t, partner, ev)
}

func signaal() map[string]any {
	return map[string]any{"bsn": "111222333", "categorie": "overlast", "urgentie": "hoog",
		"toelichting": "Geluidsoverlast", "contactpersoon": map[string]any{"naam": "Wijkagent"}}
}

func startRouter(t *testing.T, env *natstest.Env) (stop func(), logs *logtest.Buffer) {
	t.Helper()
	reg, err := region.Load("testdata/region.yaml")
	if err != nil {
		t.Fatal(err)
	}
	logger, logs := logtest.New()
	stop = runtest.Start(t, "router", func(ctx context.Context) error {
		return router.Run(ctx, router.Config{Region: reg, JetStream: env.JS, Logger: logger})
	})
	return stop, logs
}

type stored struct {
	partner, subscription, purpose, seq string
	event                               map[string]any
}

// waitDeliveries waits until DELIVERY holds n messages and returns them.
func waitDeliveries(t *testing.T, env *natstest.Env, n int) []stored {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := env.Messages(t, events.StreamDelivery)
		if len(msgs) >= n || time.Now().After(deadline) {
			var out []stored
			for _, m := range msgs {
				var ev map[string]any
				if err := json.Unmarshal(m.Data, &ev); err != nil {
					t.Fatal(err)
				}
				if m.Subject != events.DeliverySubject(m.Header.Get(bus.HeaderPartner)) {
					t.Fatalf("delivery for %s on subject %s", m.Header.Get(bus.HeaderPartner), m.Subject)
				}
				out = append(out, stored{m.Header.Get(bus.HeaderPartner), m.Header.Get(bus.HeaderSubscription),
					m.Header.Get(bus.HeaderPurpose), m.Header.Get(bus.HeaderEventSequence), ev})
			}
			sort.Slice(out, func(i, j int) bool { return out[i].partner+out[i].subscription < out[j].partner+out[j].subscription })
			if len(out) != n {
				t.Fatalf("%d deliveries, want %d: %+v", len(out), n, out)
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSignaalGoesToSubscribersWithAllowedFields(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	startRouter(t, env)
	storeEvent(t, env, "politie", events.TypeSignaal, sourcePolitie, "s-1", signaal(), "")
	ds := waitDeliveries(t, env, 2)
	ggz, zvh := ds[0], ds[1]
	if ggz.partner != "ggz" || ggz.subscription != "acute-signalen" || zvh.partner != "zvh" || zvh.subscription != "signalen" {
		t.Fatalf("deliveries %+v", ds)
	}
	if zvh.purpose != "urn:nld:zvh-test:verwerkingsactiviteit:procesregie" || zvh.seq != "1" || zvh.event["sequence"] != "1" {
		t.Fatalf("zvh delivery headers %+v", zvh)
	}
	zdata := zvh.event["data"].(map[string]any)
	if len(zdata) != 3 || zdata["bsn"] != nil || zdata["toelichting"] != nil || zdata["categorie"] != "overlast" {
		t.Fatalf("zvh data not reduced to its fields: %v", zdata)
	}
	gdata := ggz.event["data"].(map[string]any)
	if gdata["bsn"] != nil {
		t.Fatalf("bsn delivered without being listed: %v", gdata)
	}
	if gdata["toelichting"] != "Geluidsoverlast" || ggz.event["subject"] != pseudonym {
		t.Fatalf("ggz delivery: %v", ggz.event)
	}
	// The filter keeps wijkteam's signal from another source out.
	storeEvent(t, env, "wijkteam", events.TypeSignaal, sourceWijk, "s-2", signaal(), "")
	ds = waitDeliveries(t, env, 3)
	for _, d := range ds {
		if d.partner == "ggz" && d.event["id"] == "s-2" {
			t.Fatal("ggz's filter did not hold")
		}
	}
}

func TestDirectedEventGoesOnlyToItsOntvanger(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	_, logs := startRouter(t, env)
	aanmelding := map[string]any{"bsn": "111222333", "ontvanger": "ggz", "reden": "zorg",
		"contactpersoon": map[string]any{"naam": "X"}, "reactietermijn": map[string]any{"werkdagen": 5}}
	storeEvent(t, env, "politie", events.TypeAanmelding, sourcePolitie, "a-1", aanmelding, "ggz")
	ds := waitDeliveries(t, env, 1)
	if ds[0].partner != "ggz" {
		t.Fatalf("aanmelding for ggz delivered to %s", ds[0].partner)
	}
	if ds[0].event["data"].(map[string]any)["bsn"] != "111222333" {
		t.Fatal("ggz lists bsn and did not get it")
	}
	// Directed to a partner without a subscription for the type: nobody.
	storeEvent(t, env, "politie", events.TypeAanmelding, sourcePolitie, "a-2", aanmelding, "wijkteam")
	time.Sleep(300 * time.Millisecond)
	waitDeliveries(t, env, 1)
	// … and a person can see it.
	if !strings.Contains(logs.String(), `"msg":"directed event matched no subscription of its ontvanger; it stays in EVENTS"`) ||
		!strings.Contains(logs.String(), `"ontvanger":"wijkteam"`) {
		t.Fatalf("the unroutable aanmelding was not reported:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "111222333") {
		t.Fatal("the log holds the BSN")
	}
}

func TestRedeliveredEventIsDeliveredOnce(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	stop, _ := startRouter(t, env)
	storeEvent(t, env, "politie", events.TypeSignaal, sourcePolitie, "s-1", signaal(), "")
	waitDeliveries(t, env, 2)
	// Route everything again, as after a crash before the acks: the
	// deliveries' Nats-Msg-Id keeps DELIVERY at one copy each.
	stop()
	if err := env.JS.DeleteConsumer(context.Background(), events.StreamEvents, "router"); err != nil {
		t.Fatal(err)
	}
	startRouter(t, env)
	storeEvent(t, env, "politie", events.TypeSignaal, sourcePolitie, "s-2", signaal(), "")
	waitDeliveries(t, env, 4)
}

func TestBadSubscriptionIsAStartupError(t *testing.T) {
	t.Parallel()
	reg, err := region.Load("testdata/region.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reg.Partners[0].Subscriptions[0].Filter = "ontvanger = "
	if _, err := router.New(router.Config{Region: reg, JetStream: natstest.Start(t).JS}); err == nil {
		t.Fatal("a bad filter was accepted")
	}
}
