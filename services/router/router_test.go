package router_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

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
	env := routedSignaal(t)
	// Route everything again, as after a crash before the acks: the
	// deliveries' Nats-Msg-Id keeps DELIVERY at one copy each.
	if err := env.JS.DeleteConsumer(context.Background(), events.StreamEvents, "router"); err != nil {
		t.Fatal(err)
	}
	startRouter(t, env)
	storeEvent(t, env, "politie", events.TypeSignaal, sourcePolitie, "s-2", signaal(), "")
	waitDeliveries(t, env, 4)
}

func TestBadSubscriptionIsAStartupError(t *testing.T) {
	t.Parallel()
	reg := loadRegion(t, "testdata/region.yaml")
	reg.Partners[0].Subscriptions[0].Filter = "ontvanger = "
	if _, err := router.New(router.Config{Region: reg, JetStream: natstest.Start(t).JS}); err == nil {
		t.Fatal("a bad filter was accepted")
	}
}
