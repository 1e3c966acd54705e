package adapter_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// records returns the records on AUDIT, waiting until there are at least
// n (or failing after within).
func (f *fixture) records(t *testing.T, n int, within time.Duration) map[string]audit.Record {
	t.Helper()
	var msgs []*jetstream.RawStreamMsg
	runtest.Eventually(t, within, strconv.Itoa(n)+" records on AUDIT", func() bool {
		msgs = f.env.Messages(t, events.StreamAudit)
		return len(msgs) >= n
	})
	out := map[string]audit.Record{}
	for _, m := range msgs {
		var r audit.Record
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatalf("AUDIT at %d is not a record: %v", m.Sequence, err)
		}
		partner := r.Attr(audit.AttrPartner)
		if m.Subject != events.AuditSubject(partner) {
			t.Errorf("record for %s on subject %s", partner, m.Subject)
		}
		if m.Header.Get(jetstream.MsgTTLHeader) == "" {
			t.Errorf("record for %s has no TTL", partner)
		}
		if _, dup := out[partner]; dup {
			t.Errorf("a second record for %s", partner)
		}
		out[partner] = r
	}
	return out
}

// TestAuditRecordsEveryEnd: a delivered event, a dead-lettered one and
// one to a retired subscription each leave exactly one record, with the
// subscription's purpose, the partner, the subscription, the pseudonym
// and the outcome; Query finds them by the pseudonym.
func TestAuditRecordsEveryEnd(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	answers := map[string]int{"alpha": http.StatusNoContent, "beta": http.StatusNotFound, "gamma": http.StatusGone}
	sinks := map[string]*sink{}
	for _, id := range []string{"alpha", "beta", "gamma"} {
		sinks[id] = f.addSink(t, id, region.Webhook{}, statuses(answers[id]))
	}
	f.run(t, nil)

	pz, err := events.NewPseudonymizer([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	person := pz.Pseudonym(testBSNs[0]) // the person whose BSN the data holds
	sent := map[string]published{}
	for id := range sinks {
		sent[id] = f.publish(t, id, "signalen", withSubject(person), withExtension("traceparent", traceparent))
	}
	f.dlq(t, 2, 5*time.Second)
	sinks["alpha"].posts(t, 1, 5*time.Second)
	got := f.records(t, 3, 5*time.Second)
	time.Sleep(300 * time.Millisecond) // room for a record that must not come
	if n := len(f.env.Messages(t, events.StreamAudit)); n != 3 {
		t.Fatalf("AUDIT holds %d records, want 3", n)
	}

	wants := map[string]struct{ outcome, status, reason string }{
		"alpha": {audit.OutcomeDelivered, audit.StatusOK, ""},
		"beta":  {audit.OutcomeDLQ, audit.StatusError, "http 404"},
		"gamma": {audit.OutcomeRetired, audit.StatusError, "subscription retired (410)"},
	}
	for id, want := range wants {
		t.Run(id, func(t *testing.T) {
			r, ok := got[id]
			if !ok {
				t.Fatalf("no record for %s", id)
			}
			attrs := map[string]string{
				audit.AttrProcessingActivity: "urn:nld:test:verwerkingsactiviteit:signalen",
				audit.AttrDataSubject:        person,
				audit.AttrPartner:            id,
				audit.AttrSubscription:       "signalen",
				audit.AttrEventID:            sent[id].id,
				audit.AttrEventSource:        "urn:nld:oin:00000001234567890000:systeem:test",
				audit.AttrEventType:          events.TypeSignaal,
				audit.AttrOutcome:            want.outcome,
				audit.AttrReason:             want.reason,
			}
			for k, v := range attrs {
				if r.Attr(k) != v {
					t.Errorf("%s = %q, want %q", k, r.Attr(k), v)
				}
			}
			if seq, err := strconv.ParseUint(r.Attr(audit.AttrEventSequence), 10, 64); err != nil || seq == 0 {
				t.Errorf("%s = %q, want the event's sequence", audit.AttrEventSequence, r.Attr(audit.AttrEventSequence))
			}
			if r.Name != audit.NameDeliver || r.StatusCode != want.status {
				t.Errorf("name %s status %s, want %s %s", r.Name, r.StatusCode, audit.NameDeliver, want.status)
			}
			if r.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || r.ParentSpanID != "00f067aa0ba902b7" {
				t.Errorf("trace %s parent %s: not the event's traceparent", r.TraceID, r.ParentSpanID)
			}
			if r.StartTime.IsZero() || r.EndTime.Before(r.StartTime) || r.StartTime.Location() != time.UTC {
				t.Errorf("start %v end %v", r.StartTime, r.EndTime)
			}
		})
	}

	for _, m := range f.env.Messages(t, events.StreamAudit) {
		if strings.Contains(string(m.Data), sent["alpha"].bsn) || strings.Contains(string(m.Data), "Jansen-Geheim") {
			t.Errorf("a record holds the event's data")
		}
	}
	found, err := audit.Query(context.Background(), f.env.JS, person)
	if err != nil || len(found) != 3 {
		t.Errorf("Query found %d records (err %v), want 3", len(found), err)
	}
}

// TestAuditUnloggedIsNotAcked: while AUDIT cannot store the record of a
// delivered event, the delivery is not acked and comes back (with the
// same webhook-id); once AUDIT is back, it is logged once and acked.
func TestAuditUnloggedIsNotAcked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if err := f.env.JS.DeleteStream(ctx, events.StreamAudit); err != nil {
		t.Fatal(err)
	}
	s := f.addSink(t, "alpha", region.Webhook{}, nil)
	reg, _ := f.run(t, nil)

	p := f.publish(t, "alpha", "signalen")
	s.posts(t, 2, 10*time.Second) // delivered, not logged, delivered again
	if n := outcome(t, reg, "alpha", "delivered"); n != 0 {
		t.Errorf("%v deliveries counted delivered while none was logged", n)
	}
	if !strings.Contains(f.logs.String(), "processing log not written") {
		t.Errorf("the failure to log is not logged:\n%s", f.logs.String())
	}

	if err := streams.Ensure(ctx, f.env.JS, streams.Config{}); err != nil {
		t.Fatal(err)
	}
	f.records(t, 1, 10*time.Second)
	cons, err := f.env.JS.Consumer(ctx, events.StreamDelivery, "adapter-alpha")
	if err != nil {
		t.Fatal(err)
	}
	runtest.Eventually(t, 5*time.Second, "the delivery acked", func() bool {
		info, err := cons.Info(ctx)
		return err == nil && info.NumAckPending == 0 && info.NumPending == 0
	})
	posts := len(s.requests(http.MethodPost))
	time.Sleep(1500 * time.Millisecond) // longer than the nak delay
	if n := len(s.requests(http.MethodPost)); n != posts {
		t.Errorf("%d POSTs after the delivery was logged, want none", n-posts)
	}
	if n := len(f.env.Messages(t, events.StreamAudit)); n != 1 {
		t.Errorf("AUDIT holds %d records, want 1", n)
	}
	for _, r := range s.requests(http.MethodPost) {
		if r.header.Get(webhook.HeaderID) != p.msgID {
			t.Errorf("webhook-id %q, want the delivery id %q every time", r.header.Get(webhook.HeaderID), p.msgID)
		}
	}
	if n := outcome(t, reg, "alpha", "delivered"); n != 1 {
		t.Errorf("%v deliveries counted delivered, want 1", n)
	}
}
