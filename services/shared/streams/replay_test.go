package streams_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
)

// TestReplayRanges: six events of three types, stored apart; Replay
// reads exactly the range asked, also with several filter subjects and a
// start time (which nats-server 2.15.2 starts too late by itself).
func TestReplayRanges(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := context.Background()
	types := []string{events.TypeSignaal, events.TypeAanmelding, events.TypeOverdrachtJeugdWmo,
		events.TypeSignaal, events.TypeAanmelding, events.TypeOverdrachtJeugdWmo}
	at := make([]time.Time, len(types)+1)
	for _, typ := range types {
		if _, err := env.JS.Publish(ctx, events.EventSubject(typ, "p"), []byte("{}")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
	for _, m := range env.Messages(t, events.StreamEvents) {
		at[m.Sequence] = m.Time
	}
	all := []string{events.EventTypeSubject(events.TypeSignaal), events.EventTypeSubject(events.TypeOverdrachtJeugdWmo)}
	for _, tc := range []struct {
		name     string
		subjects []string
		opts     streams.ReplayOptions
		want     []uint64
	}{
		{"everything", []string{events.SubjectEventsAll}, streams.ReplayOptions{}, []uint64{1, 2, 3, 4, 5, 6}},
		{"from-seq to-seq", []string{events.SubjectEventsAll}, streams.ReplayOptions{FromSeq: 2, ToSeq: 4}, []uint64{2, 3, 4}},
		{"from-seq to-seq filtered", all, streams.ReplayOptions{FromSeq: 2, ToSeq: 5}, []uint64{3, 4}},
		{"since until", []string{events.SubjectEventsAll}, streams.ReplayOptions{Since: at[2], Until: at[5]}, []uint64{2, 3, 4}},
		{"since until filtered", all, streams.ReplayOptions{Since: at[2], Until: at[6]}, []uint64{3, 4}},
		{"since filtered", all, streams.ReplayOptions{Since: at[2]}, []uint64{3, 4, 6}},
		{"since after the end", all, streams.ReplayOptions{Since: at[6].Add(time.Second)}, nil},
		{"to-seq before the first match", all, streams.ReplayOptions{FromSeq: 2, ToSeq: 2}, nil},
	} {
		var got []uint64
		var last [2]uint64
		tc.opts.Progress = func(done, total uint64) { last = [2]uint64{done, total} }
		n, err := streams.Replay(ctx, env.JS, events.StreamEvents, tc.subjects, tc.opts, func(m jetstream.Msg) error {
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			got = append(got, md.Sequence.Stream)
			return nil
		})
		if err != nil || !slices.Equal(got, tc.want) || n != uint64(len(tc.want)) {
			t.Errorf("%s: read %v (n %d, %v), want %v", tc.name, got, n, err, tc.want)
		}
		if last != [2]uint64{n, n} {
			t.Errorf("%s: last progress %v, want %d of %d", tc.name, last, n, n)
		}
	}
}

// TestStartFromMissesNothing: a follower asking for what was stored since
// a time after the last message gets every message stored from then on,
// also one stored between StartFrom and the making of its consumer.
func TestStartFromMissesNothing(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx := context.Background()
	publish := func(id string) {
		t.Helper()
		if _, err := env.JS.Publish(ctx, events.EventSubject(events.TypeSignaal, "p"), []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	publish("before")
	time.Sleep(5 * time.Millisecond)
	st, err := env.JS.Stream(ctx, events.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.SubjectEventsAll}, DeliverPolicy: jetstream.DeliverNewPolicy}
	ok, err := streams.StartFrom(ctx, st, &cc, 0, time.Now())
	if err != nil || ok {
		t.Fatalf("StartFrom: ok %v, %v; want nothing stored since", ok, err)
	}
	publish("between")
	cons, err := st.OrderedConsumer(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	publish("after")
	for _, want := range []string{"between", "after"} {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if string(m.Data()) != want {
			t.Fatalf("read %q, want %q", m.Data(), want)
		}
	}
}
