package router_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// TestOnlyRoutesAsTheWholeTable: the table of one partner gives exactly
// that partner's deliveries of the whole table, byte for byte, and
// receives only its types.
func TestOnlyRoutesAsTheWholeTable(t *testing.T) {
	t.Parallel()
	table, err := router.NewTable(loadRegion(t, "testdata/region.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": "s-1", "source": sourcePolitie,
		"type": events.TypeSignaal, "subject": pseudonym, "data": signaal()})
	all, err := table.Route(payload, 7, "msg-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"zvh", "ggz", "politie"} {
		only, err := table.Only(p).Route(payload, 7, "msg-1")
		if err != nil {
			t.Fatal(err)
		}
		var want []router.Delivery
		for _, d := range all.Deliveries {
			if d.Partner == p {
				want = append(want, d)
			}
		}
		if len(only.Deliveries) != len(want) {
			t.Fatalf("%s: %d deliveries, want %d", p, len(only.Deliveries), len(want))
		}
		for i, d := range only.Deliveries {
			w := want[i]
			if d.Partner != w.Partner || d.Subscription != w.Subscription || d.Purpose != w.Purpose || d.MsgID != w.MsgID || !bytes.Equal(d.Body, w.Body) {
				t.Errorf("%s: delivery %+v, want %+v", p, d, w)
			}
		}
	}
	if got := table.Only("zvh").Types(); !slices.Equal(got, []string{events.TypeSignaal, events.TypeAanmelding}) {
		t.Errorf("zvh receives %v", got)
	}
	if got := table.Only("nobody").Types(); got != nil {
		t.Errorf("nobody receives %v", got)
	}
}

// TestReplayIsTheLiveDeliveryWithAReplayID: the live router delivers an
// event; a replay for zvh stores zvh's delivery again, the same but for
// the Ketenbus-Replay header and a Nats-Msg-Id holding the replay id; both
// carry the same delivery id. A publish repeated within the replay (the
// same id) is stored once.
func TestReplayIsTheLiveDeliveryWithAReplayID(t *testing.T) {
	t.Parallel()
	env := routedSignaal(t)

	cfg := router.ReplayConfig{Region: loadRegion(t, "testdata/region.yaml"), JetStream: env.JS,
		Partners: []string{"zvh"}, Range: streams.ReplayOptions{FromSeq: 1}}
	rep, err := router.Replay(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != 1 || len(rep.Counts) != 1 || rep.Counts[0] != (router.ReplayCount{Partner: "zvh", Type: events.TypeSignaal, Deliveries: 1}) {
		t.Fatalf("report %+v", rep)
	}
	msgs := env.Messages(t, events.StreamDelivery)
	if len(msgs) != 3 {
		t.Fatalf("DELIVERY holds %d messages, want 2 live and 1 replayed", len(msgs))
	}
	var live *jetstream.RawStreamMsg
	for _, m := range msgs[:2] {
		if m.Header.Get(bus.HeaderPartner) == "zvh" {
			live = m
		}
	}
	replayed := msgs[2]
	if replayed.Subject != live.Subject || !bytes.Equal(replayed.Data, live.Data) {
		t.Errorf("replayed %s %s, live %s %s", replayed.Subject, replayed.Data, live.Subject, live.Data)
	}
	for k, v := range live.Header {
		if k != jetstream.MsgIDHeader && k != jetstream.MsgTTLHeader && !slices.Equal(replayed.Header[k], v) {
			t.Errorf("header %s: replayed %v, live %v", k, replayed.Header[k], v)
		}
	}
	if replayed.Header.Get(jetstream.MsgTTLHeader) == "" {
		t.Error("the replayed delivery has no TTL")
	}
	if id := replayed.Header.Get(jetstream.MsgIDHeader); id == live.Header.Get(jetstream.MsgIDHeader) || !strings.Contains(id, rep.ID) {
		t.Errorf("replayed Nats-Msg-Id %q: want one with replay id %s, not the live one", id, rep.ID)
	}
	// Live and replayed, the delivery id is the live delivery's Nats-Msg-Id,
	// derived from partner, subscription, source and id.
	want := events.DeliveryID("zvh", live.Header.Get(bus.HeaderSubscription), events.MsgID(sourcePolitie, "s-1"))
	if live.Header.Get(jetstream.MsgIDHeader) != want || live.Header.Get(bus.HeaderDeliveryID) != want || replayed.Header.Get(bus.HeaderDeliveryID) != want {
		t.Errorf("delivery id: live %q (Nats-Msg-Id %q), replayed %q; want %s in each",
			live.Header.Get(bus.HeaderDeliveryID), live.Header.Get(jetstream.MsgIDHeader), replayed.Header.Get(bus.HeaderDeliveryID), want)
	}
	if got := replayed.Header.Get(bus.HeaderReplay); got != rep.ID || live.Header.Get(bus.HeaderReplay) != "" {
		t.Errorf("Ketenbus-Replay: replayed %q, live %q; want %q and none", got, live.Header.Get(bus.HeaderReplay), rep.ID)
	}

	// The same run publishing again (its id): stored once.
	cfg.ID = rep.ID
	if _, err := router.Replay(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if n := len(env.Messages(t, events.StreamDelivery)); n != 3 {
		t.Errorf("a publish repeated with the same replay id was stored again: %d messages", n)
	}
}

// TestReplayLogsNATSNativeDeliveries: NATS-native partners pull from
// DELIVERY themselves, so a replay writes their processing log, as the
// live router does, with the replay id.
func TestReplayLogsNATSNativeDeliveries(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	for _, id := range []string{"s-1", "s-2"} {
		storeEvent(t, env, "p1", events.TypeSignaal, sourcePolitie, id, signaal(), "")
	}
	rep, err := router.Replay(context.Background(), router.ReplayConfig{Region: loadRegion(t, "testdata/bench-region-nats.yaml"),
		JetStream: env.JS, Partners: []string{"p2"}, Range: streams.ReplayOptions{Since: time.Now().Add(-time.Minute)}})
	if err != nil || rep.Deliveries() != 2 {
		t.Fatalf("replay: %+v, %v", rep, err)
	}
	records := env.Messages(t, events.StreamAudit)
	if len(records) != 2 {
		t.Fatalf("AUDIT holds %d records, want 2", len(records))
	}
	for _, m := range records {
		var r audit.Record
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		if m.Subject != events.AuditSubject("p2") || r.Attr(audit.AttrReplay) != rep.ID || r.Attr(audit.AttrPartner) != "p2" || r.Attr(audit.AttrOutcome) != audit.OutcomeStored {
			t.Errorf("record on %s: %v", m.Subject, r.Attributes)
		}
	}
}

// TestReplayConfigErrors never repeat a subject.
func TestReplayConfigErrors(t *testing.T) {
	t.Parallel()
	reg := loadRegion(t, "testdata/region.yaml")
	for _, tc := range []struct {
		cfg  router.ReplayConfig
		want error
	}{
		{router.ReplayConfig{Partners: []string{"nobody"}}, router.ErrUnknownPartner},
		{router.ReplayConfig{Types: []string{"signaal"}}, router.ErrUnknownType},
		{router.ReplayConfig{Subject: "111222333"}, router.ErrSubject},
	} {
		tc.cfg.Region, tc.cfg.JetStream = reg, nil
		_, err := router.Replay(context.Background(), tc.cfg)
		if !errors.Is(err, tc.want) || strings.Contains(err.Error(), "111222333") {
			t.Errorf("%+v: %v, want %v", tc.cfg, err, tc.want)
		}
	}
}
