package dlq_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// deadLetter stores a dead letter as the adapter does: the delivery's
// headers, its Nats-Msg-Id, the DLQ headers and a TTL. It returns its DLQ
// sequence.
func deadLetter(t *testing.T, env *natstest.Env, partner, msgID string) uint64 {
	t.Helper()
	m := nats.NewMsg(events.DLQSubject(partner))
	m.Data = []byte(`{"specversion":"1.0","id":"` + msgID + `","type":"nl.sociaaldomein.signaal.v1","data":{"bsn":"kb1.x.y"}}`)
	m.Header.Set(bus.HeaderPartner, partner)
	m.Header.Set(bus.HeaderSubscription, "signalen")
	m.Header.Set(bus.HeaderPurpose, "urn:nld:test:verwerkingsactiviteit:signalen")
	m.Header.Set(bus.HeaderEventSequence, "7")
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	m.Header.Set(bus.HeaderDeliveryID, msgID)
	m.Header.Set(bus.HeaderDLQReason, "http 400")
	m.Header.Set(bus.HeaderDLQStatus, "400")
	m.Header.Set(bus.HeaderDLQAttempts, "1")
	m.Header.Set(jetstream.MsgTTLHeader, "100")
	ack, err := env.JS.PublishMsg(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// newestIDs returns the event ids of store.Newest(partner, n, from) and
// the sequence it says to read from next.
func newestIDs(t *testing.T, store *dlq.Store, partner string, n int, from uint64) ([]string, uint64) {
	t.Helper()
	letters, next, err := store.Newest(context.Background(), partner, n, from)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range letters {
		id, _ := l.Event()
		ids = append(ids, id)
	}
	return ids, next
}

func TestRedelivery(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	deadLetter(t, env, "ggz", "d-1")
	ctx := context.Background()
	store, err := dlq.Open(ctx, env.JS)
	if err != nil {
		t.Fatal(err)
	}
	l, err := store.Get(ctx, "ggz", 1)
	if err != nil {
		t.Fatal(err)
	}
	if id, typ := l.Event(); id != "d-1" || typ != events.TypeSignaal || l.Partner() != "ggz" || l.Subscription() != "signalen" ||
		l.Reason() != "http 400" || l.Status() != 400 || l.Attempts() != 1 {
		t.Errorf("letter %+v", l)
	}
	m := l.Redelivery(l.Stored.Add(30 * time.Second))
	want := nats.Header{
		bus.HeaderPartner:       {"ggz"},
		bus.HeaderSubscription:  {"signalen"},
		bus.HeaderPurpose:       {"urn:nld:test:verwerkingsactiviteit:signalen"},
		bus.HeaderEventSequence: {"7"},
		bus.HeaderDeliveryID:    {"d-1"}, // the partner sees the same delivery again
		jetstream.MsgIDHeader:   {l.RetryMsgID()},
		jetstream.MsgTTLHeader:  {"70"},
	}
	if m.Subject != "ketenbus.deliver.ggz" || string(m.Data) != string(l.Data) || !maps.EqualFunc(m.Header, want, slices.Equal) {
		t.Errorf("redelivery %s %v, want ketenbus.deliver.ggz %v", m.Subject, m.Header, want)
	}
	if id := l.RetryMsgID(); id == "d-1" || id != l.RetryMsgID() {
		t.Errorf("RetryMsgID %q: want a fixed id other than the delivery's", id)
	}
	if _, err := store.Get(ctx, "zvh", 1); !errors.Is(err, dlq.ErrNotFound) {
		t.Errorf("another partner's letter: %v, want ErrNotFound", err)
	}
	if _, err := store.Get(ctx, "", 2); !errors.Is(err, dlq.ErrNotFound) {
		t.Errorf("no letter: %v, want ErrNotFound", err)
	}
}

// TestRetryAfterStop: a retry that stored a copy and stopped before
// deleting the dead letter is finished by the next one, which stores no
// second copy.
func TestRetryAfterStop(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	for i := range 3 {
		deadLetter(t, env, "ggz", "d-"+strconv.Itoa(i))
	}
	deadLetter(t, env, "zvh", "other")
	ctx := context.Background()
	store, err := dlq.Open(ctx, env.JS)
	if err != nil {
		t.Fatal(err)
	}
	letters, err := store.List(ctx, "ggz", time.Time{})
	if err != nil || len(letters) != 3 {
		t.Fatalf("List: %d letters, %v", len(letters), err)
	}
	// The first retry stored the copy of the first letter, then stopped.
	if _, err := env.JS.PublishMsg(ctx, letters[0].Redelivery(time.Now())); err != nil {
		t.Fatal(err)
	}
	n, err := store.Retry(ctx, letters, time.Now())
	if err != nil || n != 3 {
		t.Fatalf("Retry: %d, %v", n, err)
	}
	if got := len(env.Messages(t, events.StreamDelivery)); got != 3 {
		t.Errorf("DELIVERY holds %d copies, want 3", got)
	}
	left := env.Messages(t, events.StreamDLQ)
	if len(left) != 1 || left[0].Subject != "ketenbus.dlq.zvh" {
		t.Errorf("DLQ holds %d letters after Retry, want zvh's only", len(left))
	}
	if all, err := store.List(ctx, "", time.Now().Add(time.Hour)); err != nil || len(all) != 0 {
		t.Errorf("List since an hour from now: %d, %v", len(all), err)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := context.Background()
	if got, err := dlq.Counts(ctx, env.JS); err != nil || len(got) != 0 {
		t.Fatalf("Counts of an empty DLQ = %v, %v; want none", got, err)
	}
	deadLetter(t, env, "ggz", "m-1")
	deadLetter(t, env, "ggz", "m-2")
	deadLetter(t, env, "wmo-team", "m-3")
	got, err := dlq.Counts(ctx, env.JS)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]uint64{"ggz": 2, "wmo-team": 1}; !maps.Equal(got, want) {
		t.Errorf("Counts = %v, want %v", got, want)
	}
}

// TestNewest: the newest letters of one partner, read again and again
// from where they began, stay right as letters come and go.
func TestNewest(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := context.Background()
	store, err := dlq.Open(ctx, env.JS)
	if err != nil {
		t.Fatal(err)
	}
	seqOf := map[string]uint64{}
	add := func(ids ...string) {
		for _, id := range ids {
			seqOf[id] = deadLetter(t, env, "ggz", id)
			deadLetter(t, env, "politie", "other-"+id)
		}
	}
	var from uint64
	newest := func(want ...string) {
		t.Helper()
		got, next := newestIDs(t, store, "ggz", 3, from)
		if !slices.Equal(got, want) {
			t.Fatalf("Newest from %d = %v, want %v", from, got, want)
		}
		if wantNext := uint64(0); len(want) == 3 {
			wantNext = seqOf[want[0]]
			if next != wantNext {
				t.Fatalf("next = %d, want %d (the first of %v)", next, wantNext, want)
			}
		} else if next != wantNext {
			t.Fatalf("next = %d with fewer than 3 letters, want 0", next)
		}
		from = next
	}
	newest()
	add("g-1", "g-2")
	newest("g-1", "g-2")
	add("g-3")
	newest("g-1", "g-2", "g-3")
	add("g-4", "g-5", "g-6")
	newest("g-4", "g-5", "g-6")
	from = 0 // a first look: found by counting
	newest("g-4", "g-5", "g-6")
	add("g-7")
	newest("g-5", "g-6", "g-7")
	for _, id := range []string{"g-6", "g-7"} {
		if err := store.Delete(ctx, seqOf[id], false); err != nil {
			t.Fatal(err)
		}
	}
	newest("g-3", "g-4", "g-5")
	newest("g-3", "g-4", "g-5")
}

// TestNewestOfALongDLQ: with more than 100·n letters of the partner, where
// Newest searches for the start instead of reading them all, it still
// returns exactly the newest n, also after the newest one was deleted.
func TestNewestOfALongDLQ(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := context.Background()
	const letters = 320
	seqOf := map[string]uint64{}
	for i := range letters {
		for _, partner := range []string{"politie", "ggz"} {
			id := fmt.Sprintf("%s-%d", partner, i)
			seqOf[id] = deadLetter(t, env, partner, id)
		}
	}
	store, err := dlq.Open(ctx, env.JS)
	if err != nil {
		t.Fatal(err)
	}
	newest := func(n int, want ...string) {
		t.Helper()
		ids, next := newestIDs(t, store, "ggz", n, 0)
		if !slices.Equal(ids, want) || next != seqOf[want[0]] {
			t.Fatalf("Newest(%d) = %v, next %d; want %v, next %d", n, ids, next, want, seqOf[want[0]])
		}
	}
	newest(3, "ggz-317", "ggz-318", "ggz-319")
	if err := store.Delete(ctx, seqOf["ggz-319"], false); err != nil {
		t.Fatal(err)
	}
	newest(3, "ggz-316", "ggz-317", "ggz-318")
	newest(1, "ggz-318")
}
