package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/clocktest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// The services that write the processing log besides the adapter: the
// router for NATS-native partners, the escalator and samenloop for the
// events they produce.

// traceparent is the W3C trace context the tests' events carry.
const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// personA and personB are the pseudonyms the tests' records are about.
var (
	personA = strings.Repeat("a1", 32)
	personB = strings.Repeat("b2", 32)
)

// wiringRegion: ggz is NATS-native, zvh has a webhook; both subscribe to
// signalen.
var wiringRegion = e2etest.MustRead("testdata/wiring.yaml")

func wiringConfig(t *testing.T) *region.Config {
	t.Helper()
	reg, err := region.Parse("wiring.yaml", []byte(wiringRegion))
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// waitRecords waits until AUDIT holds n records, checks it stays at n for
// a moment, and returns them in stream order.
func waitRecords(t *testing.T, env *natstest.Env, n int) []audit.Record {
	t.Helper()
	runtest.Eventually(t, 10*time.Second, fmt.Sprintf("%d records in AUDIT", n), func() bool {
		return len(env.Messages(t, events.StreamAudit)) >= n
	})
	time.Sleep(200 * time.Millisecond) // a double would show up now
	msgs := env.Messages(t, events.StreamAudit)
	if len(msgs) != n {
		t.Fatalf("AUDIT holds %d records, want %d", len(msgs), n)
	}
	out := make([]audit.Record, len(msgs))
	for i, m := range msgs {
		if err := json.Unmarshal(m.Data, &out[i]); err != nil {
			t.Fatalf("AUDIT at %d: %v", m.Sequence, err)
		}
		if m.Subject != events.AuditSubject(out[i].Attr(audit.AttrPartner)) {
			t.Errorf("record for %s on %s", out[i].Attr(audit.AttrPartner), m.Subject)
		}
		if m.Header.Get("Nats-TTL") != "3600" {
			t.Errorf("record on %s has TTL %q, want the audit retention 3600", m.Subject, m.Header.Get("Nats-TTL"))
		}
	}
	return out
}

func wantAttrs(t *testing.T, r audit.Record, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := r.Attr(k); got != v {
			t.Errorf("%s record: %s = %q, want %q", r.Name, k, got, v)
		}
	}
}

// TestRouterLogsNATSNativeDeliveries: a signaal for a NATS-native partner
// and a webhook partner leaves one record, the NATS-native one's, also
// when the router routes the event again.
func TestRouterLogsNATSNativeDeliveries(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg := wiringConfig(t)
	start := func() func() {
		logger, _ := logtest.New()
		return runtest.Start(t, "router", func(ctx context.Context) error {
			return router.Run(ctx, router.Config{Region: reg, JetStream: env.JS, Logger: logger})
		})
	}
	stop := start()
	env.StoreEvent(t, "politie", map[string]any{
		"specversion": "1.0", "id": "s-1", "source": sourcePolitie, "type": events.TypeSignaal,
		"subject": personA, "time": "2026-11-24T09:30:00Z", "traceparent": traceparent,
		"datacontenttype": "application/json", "data": map[string]any{"bsn": "111222333", "categorie": "overlast"},
	})
	got := waitRecords(t, env, 1)
	if n := len(env.Messages(t, events.StreamDelivery)); n != 2 {
		t.Fatalf("DELIVERY holds %d deliveries, want 2", n)
	}
	r := got[0]
	wantAttrs(t, r, map[string]string{
		audit.AttrProcessingActivity: "urn:nld:ggz-test:verwerkingsactiviteit:signalen",
		audit.AttrDataSubject:        personA,
		audit.AttrPartner:            "ggz",
		audit.AttrSubscription:       "signalen",
		audit.AttrEventID:            "s-1",
		audit.AttrEventSource:        sourcePolitie,
		audit.AttrEventType:          events.TypeSignaal,
		audit.AttrEventSequence:      "1",
		audit.AttrOutcome:            audit.OutcomeStored,
	})
	if r.Name != audit.NameDeliver || r.StatusCode != audit.StatusOK || r.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("record %s %s trace %s", r.Name, r.StatusCode, r.TraceID)
	}

	// Route it again, as after a crash before the ack: logged once.
	stop()
	if err := env.JS.DeleteConsumer(context.Background(), events.StreamEvents, "router"); err != nil {
		t.Fatal(err)
	}
	start()
	env.StoreEvent(t, "ggz", map[string]any{
		"specversion": "1.0", "id": "s-2", "source": sourceGGZ, "type": events.TypeSignaal,
		"subject": personB, "time": "2026-11-24T09:30:00Z", "datacontenttype": "application/json",
		"data": map[string]any{"categorie": "overlast"},
	})
	got = waitRecords(t, env, 2)
	if got[0].ID() != r.ID() || got[1].Attr(audit.AttrDataSubject) != personB {
		t.Errorf("after routing again: %+v", got)
	}
}

// TestEscalatorLogsEscalaties: an escalatie leaves one record for its
// ontvanger, about the aanmelding's person, with the escalatie's id and
// EVENTS sequence.
func TestEscalatorLogsEscalaties(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	rdb := redistest.Start(t).Client(t)
	posted := time.Date(2026, 4, 2, 8, 0, 0, 0, time.UTC)
	clock := clocktest.New(posted)
	logger, _ := logtest.New()
	e, _ := e2etest.Start(t, "escalator", escalator.New, escalator.Config{
		ServiceConfig: projector.ServiceConfig{Region: wiringConfig(t), JetStream: env.JS, Redis: rdb, Now: clock.Now, Logger: logger},
		PollInterval:  5 * time.Millisecond, Lease: time.Second,
	})
	env.StoreEvent(t, "politie", map[string]any{
		"specversion": "1.0", "id": "a-1", "source": sourcePolitie, "type": events.TypeAanmelding,
		"subject": personA, "time": posted.Format(time.RFC3339), "ontvanger": "ggz", "datacontenttype": "application/json",
		"data": map[string]any{"bsn": "111222333", "ontvanger": "ggz", "reden": "zorgen",
			"contactpersoon": map[string]any{"naam": "X"}, "reactietermijn": map[string]any{"werkdagen": 1}},
	})
	runtest.Eventually(t, 10*time.Second, "a timer for the aanmelding", func() bool {
		_, ok, err := e.Store().Get(context.Background(), events.MsgID(sourcePolitie, "a-1"))
		return err == nil && ok
	})
	clock.Set(posted.Add(7 * 24 * time.Hour))
	got := waitRecords(t, env, 1)
	produced := env.Produced(t, events.TypeEscalatie)
	if len(produced) != 1 {
		t.Fatalf("%d escalaties, want 1", len(produced))
	}
	var seq uint64
	for _, m := range env.Messages(t, events.StreamEvents) {
		if m.Subject == events.EventSubject(events.TypeEscalatie, events.Producer) {
			seq = m.Sequence
		}
	}
	r := got[0]
	wantAttrs(t, r, map[string]string{
		audit.AttrProcessingActivity: audit.ActivityEscalatie,
		audit.AttrDataSubject:        personA,
		audit.AttrPartner:            "zvh",
		audit.AttrEventID:            produced[0].ID(),
		audit.AttrEventSource:        produced[0].Source(),
		audit.AttrEventType:          events.TypeEscalatie,
		audit.AttrEventSequence:      strconv.FormatUint(seq, 10),
		audit.AttrOutcome:            audit.OutcomeStored,
	})
	if r.Name != audit.NameEscalatie || r.StatusCode != audit.StatusOK {
		t.Errorf("record %s %s", r.Name, r.StatusCode)
	}
}

// TestSamenloopLogsSamenloopEvents: two partners signal one person: each
// samenloop event leaves one record for its ontvanger.
func TestSamenloopLogsSamenloopEvents(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	rdb := redistest.Start(t).Client(t)
	now := time.Now().UTC().Truncate(time.Second)
	logger, _ := logtest.New()
	e2etest.Start(t, "samenloop", samenloop.New, samenloop.Config{
		ServiceConfig: projector.ServiceConfig{Region: wiringConfig(t), JetStream: env.JS, Redis: rdb, Now: clocktest.New(now).Now, Logger: logger},
	})
	for _, sig := range []struct{ partner, source, id string }{{"politie", sourcePolitie, "p-1"}, {"ggz", sourceGGZ, "g-1"}} {
		env.StoreEvent(t, sig.partner, map[string]any{
			"specversion": "1.0", "id": sig.id, "source": sig.source, "type": events.TypeSignaal,
			"subject": personA, "time": now.Format(time.RFC3339), "datacontenttype": "application/json",
			"data": map[string]any{"bsn": "111222333", "categorie": "overlast", "urgentie": "hoog",
				"contactpersoon": map[string]any{"naam": "X"}},
		})
	}
	got := waitRecords(t, env, 3)
	produced := map[string]string{} // ontvanger -> event id
	for _, ev := range env.Produced(t, events.TypeSamenloop) {
		o, _ := ev.Extensions()[events.ExtensionOntvanger].(string)
		produced[o] = ev.ID()
	}
	var partners []string
	for _, r := range got {
		p := r.Attr(audit.AttrPartner)
		partners = append(partners, p)
		wantAttrs(t, r, map[string]string{
			audit.AttrProcessingActivity: audit.ActivitySamenloop,
			audit.AttrDataSubject:        personA,
			audit.AttrEventID:            produced[p],
			audit.AttrEventType:          events.TypeSamenloop,
			audit.AttrOutcome:            audit.OutcomeStored,
		})
		if r.Name != audit.NameSamenloop || r.Attr(audit.AttrEventSequence) == "" {
			t.Errorf("record %s, sequence %q", r.Name, r.Attr(audit.AttrEventSequence))
		}
	}
	slices.Sort(partners)
	if !slices.Equal(partners, []string{"ggz", "politie", "zvh"}) {
		t.Errorf("records for %v, want ggz, politie and zvh", partners)
	}
}
