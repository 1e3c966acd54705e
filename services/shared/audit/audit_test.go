package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

var (
	personA = strings.Repeat("a1", 32)
	personB = strings.Repeat("b2", 32)
	t0      = time.Date(2026, 4, 2, 8, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
)

func delivery(id, partner, subject, outcome string) audit.Processing {
	return audit.Processing{
		Name:         audit.NameDeliver,
		Activity:     "urn:nld:test:verwerkingsactiviteit:" + partner,
		Partner:      partner,
		Subscription: "signalen",
		Event: audit.Event{ID: id, Source: "urn:nld:oin:00000001234567890000:systeem:test",
			Type: events.TypeSignaal, Subject: subject, Sequence: 42},
		Outcome: outcome,
		Start:   t0,
		End:     t0.Add(15 * time.Millisecond),
	}
}

func TestNewRecord(t *testing.T) {
	t.Parallel()
	r := audit.NewRecord(delivery("e-1", "ggz", personA, audit.OutcomeDelivered))
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(r.TraceID) || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(r.SpanID) {
		t.Errorf("trace_id %q span_id %q: want 32 and 16 hex digits", r.TraceID, r.SpanID)
	}
	if again := audit.NewRecord(delivery("e-1", "ggz", personA, audit.OutcomeDelivered)); again.ID() != r.ID() {
		t.Errorf("the same processing got ids %s and %s", r.ID(), again.ID())
	}
	for name, change := range map[string]func(*audit.Processing){
		"event":        func(p *audit.Processing) { p.Event.ID = "e-2" },
		"partner":      func(p *audit.Processing) { p.Partner = "zvh" },
		"outcome":      func(p *audit.Processing) { p.Outcome = audit.OutcomeDLQ },
		"subscription": func(p *audit.Processing) { p.Subscription = "other" },
		"name":         func(p *audit.Processing) { p.Name = audit.NameSamenloop },
		"replay":       func(p *audit.Processing) { p.Replay = "r-1" },
	} {
		other := delivery("e-1", "ggz", personA, audit.OutcomeDelivered)
		change(&other)
		if o := audit.NewRecord(other); o.ID() == r.ID() {
			t.Errorf("another %s, the same record id", name)
		}
	}
	// Every record about one event shares its trace.
	if o := audit.NewRecord(delivery("e-1", "zvh", personA, audit.OutcomeDelivered)); o.TraceID != r.TraceID {
		t.Errorf("two records about one event are in traces %s and %s", r.TraceID, o.TraceID)
	}

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"trace_id":    r.TraceID,
		"span_id":     r.SpanID,
		"name":        "ketenbus.deliver",
		"start_time":  "2026-04-02T06:00:00.123456789Z",
		"end_time":    "2026-04-02T06:00:00.138456789Z",
		"status_code": "OK",
		"attributes": map[string]any{
			"dpl.core.processing_activity_id": "urn:nld:test:verwerkingsactiviteit:ggz",
			"dpl.core.data_subject_id":        personA,
			"dpl.core.data_subject_id_type":   audit.DataSubjectType,
			"ketenbus.partner":                "ggz",
			"ketenbus.subscription":           "signalen",
			"ketenbus.event.id":               "e-1",
			"ketenbus.event.source":           "urn:nld:oin:00000001234567890000:systeem:test",
			"ketenbus.event.type":             events.TypeSignaal,
			"ketenbus.event.sequence":         "42",
			"ketenbus.outcome":                "delivered",
		},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("record JSON\n got %s\nwant %v", b, want)
	}

	failed := delivery("e-1", "ggz", "", audit.OutcomeDLQ)
	failed.Reason = "http 404"
	f := audit.NewRecord(failed)
	if f.StatusCode != audit.StatusError || f.Attr(audit.AttrReason) != "http 404" || f.Attr(audit.AttrOutcome) != "dlq" {
		t.Errorf("failed delivery: status %s, attributes %v", f.StatusCode, f.Attributes)
	}
	if _, ok := f.Attributes[audit.AttrDataSubject]; ok {
		t.Errorf("an event without subject got a data subject: %v", f.Attributes)
	}

	// A publisher may put a BSN in its event id; the record does not
	// repeat it.
	if got := audit.NewRecord(delivery("e-111222333", "ggz", personA, audit.OutcomeDelivered)); got.Attr(audit.AttrEventID) != "e-[bsn]" {
		t.Errorf("event id with a BSN recorded as %q, want e-[bsn]", got.Attr(audit.AttrEventID))
	}

	traced := delivery("e-1", "ggz", personA, audit.OutcomeDelivered)
	traced.Event.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tr := audit.NewRecord(traced)
	if tr.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || tr.ParentSpanID != "00f067aa0ba902b7" || tr.SpanID != r.SpanID {
		t.Errorf("with traceparent: trace %s parent %s span %s", tr.TraceID, tr.ParentSpanID, tr.SpanID)
	}
	for _, bad := range []string{"garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"} {
		traced.Event.Traceparent = bad
		if got := audit.NewRecord(traced); got.TraceID != r.TraceID || got.ParentSpanID != "" {
			t.Errorf("traceparent %q was used: trace %s parent %s", bad, got.TraceID, got.ParentSpanID)
		}
	}
}

// TestWriteQuery: records about two persons and one about nobody; Query
// returns a person's records in the order written, writing one twice
// stores it once, and every record carries the audit retention as TTL.
func TestWriteQuery(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	reg := &region.Config{Region: "test", Retention: map[string]time.Duration{region.RetentionAudit: 3 * time.Hour}}
	w := audit.NewWriter(env.JS, reg)
	ctx := context.Background()

	a1 := audit.NewRecord(delivery("e-1", "ggz", personA, audit.OutcomeDelivered))
	b1 := audit.NewRecord(delivery("e-2", "ggz", personB, audit.OutcomeDelivered))
	a2 := audit.NewRecord(delivery("e-3", "zvh", personA, audit.OutcomeDLQ))
	none := audit.NewRecord(delivery("e-4", "zvh", "", audit.OutcomeDelivered))
	for _, e := range []audit.Entry{{Partner: "ggz", Record: a1}, {Partner: "ggz", Record: b1}, {Partner: "zvh", Record: a2}, {Partner: "zvh", Record: none}, {Partner: "ggz", Record: a1}} {
		if err := w.Write(ctx, e.Partner, e.Record); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.WriteAll(ctx, []audit.Entry{{Partner: "zvh", Record: a2}, {Partner: "ggz", Record: b1}}); err != nil {
		t.Fatalf("WriteAll: %v", err)
	}

	msgs := env.Messages(t, events.StreamAudit)
	if len(msgs) != 4 {
		t.Fatalf("AUDIT holds %d messages, want 4: a record written twice is stored once", len(msgs))
	}
	for _, m := range msgs {
		if ttl := m.Header.Get(jetstream.MsgTTLHeader); ttl != "10800" {
			t.Errorf("%s: Nats-TTL %q, want 10800 (3h)", m.Subject, ttl)
		}
		if m.Header.Get(jetstream.MsgIDHeader) == "" {
			t.Errorf("%s: no Nats-Msg-Id", m.Subject)
		}
	}
	if msgs[0].Subject != "ketenbus.audit.ggz" || msgs[2].Subject != "ketenbus.audit.zvh" {
		t.Errorf("subjects %s, %s", msgs[0].Subject, msgs[2].Subject)
	}

	got, err := audit.Query(ctx, env.JS, personA)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], a1) || !reflect.DeepEqual(got[1], a2) {
		t.Errorf("Query(A) = %+v\nwant %+v and %+v", got, a1, a2)
	}
	if got, err := audit.Query(ctx, env.JS, personB); err != nil || len(got) != 1 || got[0].ID() != b1.ID() {
		t.Errorf("Query(B) = %+v, %v; want its one record", got, err)
	}
	if got, err := audit.Query(ctx, env.JS, strings.Repeat("c3", 32)); err != nil || len(got) != 0 {
		t.Errorf("Query(nobody) = %+v, %v; want nothing", got, err)
	}
	if _, err := audit.Query(ctx, env.JS, ""); !errors.Is(err, audit.ErrDataSubject) {
		t.Errorf("Query(\"\") error %v, want ErrDataSubject", err)
	}
	if err := w.Write(ctx, "Not A Partner", a1); !errors.Is(err, audit.ErrPartner) {
		t.Errorf("Write to a bad partner id: %v, want ErrPartner", err)
	}
}

// TestWriteFails: without an AUDIT stream nothing stores the record, and
// Write says so instead of dropping it.
func TestWriteFails(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := context.Background()
	if err := env.JS.DeleteStream(ctx, events.StreamAudit); err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(env.JS, &region.Config{})
	if err := w.Write(ctx, "ggz", audit.NewRecord(delivery("e-1", "ggz", personA, audit.OutcomeDelivered))); err == nil {
		t.Fatal("Write returned nil without a stream to store the record")
	}
}

func TestDefaultRetention(t *testing.T) {
	t.Parallel()
	m, err := audit.NewWriter(nil, &region.Config{}).Msg("ggz", audit.NewRecord(delivery("e-1", "ggz", personA, audit.OutcomeDelivered)))
	if err != nil {
		t.Fatal(err)
	}
	if ttl := m.Header.Get(jetstream.MsgTTLHeader); ttl != "157680000" {
		t.Errorf("Nats-TTL %q without a configured retention, want 1825 days", ttl)
	}
}
