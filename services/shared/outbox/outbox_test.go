package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/outbox"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

const (
	source    = "urn:nld:oin:00000009999999990002:systeem:ketenbus"
	pseudonym = "5f0c6e2d9a0b4c1d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"
)

var (
	fired = time.Date(2026, 4, 11, 8, 0, 0, 0, time.UTC)
	ended = fired.Add(time.Second)
)

func newOutbox(t *testing.T) (*natstest.Env, *outbox.Outbox) {
	t.Helper()
	env := natstest.Start(t)
	reg := &region.Config{Source: source, Retention: map[string]time.Duration{"escalatie": 48 * time.Hour, region.RetentionAudit: 72 * time.Hour}}
	return env, outbox.New(outbox.Config{JetStream: env.JS, Region: reg, Now: func() time.Time { return ended }})
}

func escalatie(id, ontvanger string) outbox.Event {
	return outbox.Event{
		ID: id, Type: events.TypeEscalatie, Time: fired, Subject: pseudonym, Ontvanger: ontvanger,
		Data: events.Escalatie{
			Betreft:   events.EventRef{Source: "urn:nld:oin:00000009999999990001:systeem:bvh", ID: "a-1", Type: events.TypeAanmelding},
			Ontvanger: ontvanger, Niveau: 1, Reden: events.RedenTermijnVerstreken, Termijn: fired,
		},
	}
}

func build(t *testing.T, o *outbox.Outbox, evs ...outbox.Event) []outbox.Msg {
	t.Helper()
	msgs := make([]outbox.Msg, len(evs))
	for i, ev := range evs {
		m, err := o.Build(ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	return msgs
}

// TestPublish: two escalaties go to EVENTS as ketenbus stores a system
// event, and the record of each to AUDIT; published again, neither is
// stored twice.
func TestPublish(t *testing.T) {
	t.Parallel()
	env, o := newOutbox(t)
	msgs := build(t, o, escalatie("e-1", "ggz"), escalatie("e-2", "politie"))
	for range 2 {
		sent := o.Publish(context.Background(), fired, msgs)
		if sent.StoreErr != nil || sent.LogErr != nil || sent.Stored != 2 || !sent.Done[0] || !sent.Done[1] {
			t.Fatalf("sent %+v, want both done", sent)
		}
	}
	stored := env.Messages(t, events.StreamEvents)
	if len(stored) != 2 {
		t.Fatalf("%d messages on EVENTS, want 2", len(stored))
	}
	for i, m := range stored {
		want := []string{"e-1", "e-2"}[i]
		if m.Subject != events.EventSubject(events.TypeEscalatie, events.Producer) ||
			m.Header.Get(jetstream.MsgIDHeader) != events.MsgID(source, want) ||
			m.Header.Get(jetstream.MsgTTLHeader) != bus.TTLValue(48 * time.Hour)[0] {
			t.Errorf("message %d: subject %s, headers %v", i, m.Subject, m.Header)
		}
		var ce map[string]any
		if err := json.Unmarshal(m.Data, &ce); err != nil {
			t.Fatal(err)
		}
		if ce["id"] != want || ce["source"] != source || ce["type"] != events.TypeEscalatie || ce["subject"] != pseudonym ||
			ce["time"] != fired.Format(time.RFC3339) || ce[events.ExtensionOntvanger] != []string{"ggz", "politie"}[i] {
			t.Errorf("event %d: %v", i, ce)
		}
	}
	if got := env.Produced(t, events.TypeEscalatie); len(got) != 2 {
		t.Errorf("%d escalaties pass the catalog, want 2", len(got))
	}
	records := env.Messages(t, "AUDIT")
	if len(records) != 2 {
		t.Fatalf("%d records on AUDIT, want 2", len(records))
	}
	for i, m := range records {
		var r audit.Record
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		partner := []string{"ggz", "politie"}[i]
		if m.Subject != events.AuditSubject(partner) || r.Name != audit.NameEscalatie ||
			r.Attr(audit.AttrProcessingActivity) != audit.ActivityEscalatie || r.Attr(audit.AttrPartner) != partner ||
			r.Attr(audit.AttrEventSequence) != []string{"1", "2"}[i] || r.Attr(audit.AttrDataSubject) != pseudonym ||
			r.Attr(audit.AttrOutcome) != audit.OutcomeStored || !r.StartTime.Equal(fired) || !r.EndTime.Equal(ended) {
			t.Errorf("record %d on %s: %+v", i, m.Subject, r)
		}
	}
}

// TestPublishFails: a message JetStream does not store is not done, the
// others are; records that cannot be written leave none done.
func TestPublishFails(t *testing.T) {
	t.Parallel()
	_, o := newOutbox(t)
	msgs := build(t, o, escalatie("e-1", "ggz"), escalatie("e-2", "ggz"))
	msgs[0].Msg.Subject = "nowhere.escalatie" // a subject no stream holds
	sent := o.Publish(context.Background(), fired, msgs)
	if sent.StoreErr == nil || sent.LogErr != nil || sent.Stored != 1 || sent.Done[0] || !sent.Done[1] {
		t.Errorf("sent %+v, want the second done only", sent)
	}

	msgs = build(t, o, escalatie("e-3", "ggz"), escalatie("e-4", "Not a partner"))
	sent = o.Publish(context.Background(), fired, msgs)
	if sent.StoreErr != nil || !errors.Is(sent.LogErr, audit.ErrPartner) || sent.Stored != 2 || sent.Done[0] || sent.Done[1] {
		t.Errorf("sent %+v, want both stored, neither done", sent)
	}
}

// TestBuildType: only the types ketenbus produces are system events.
func TestBuildType(t *testing.T) {
	t.Parallel()
	_, o := newOutbox(t)
	ev := escalatie("e-1", "ggz")
	ev.Type = events.TypeSignaal
	if _, err := o.Build(ev); !errors.Is(err, outbox.ErrType) {
		t.Errorf("build a signaal: %v, want ErrType", err)
	}
}
