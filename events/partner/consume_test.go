package partner_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
)

// startNATS runs the real nats-server with JetStream in the process and
// creates the DELIVERY stream as ketenbus does.
func startNATS(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{
		Name:     events.StreamDelivery,
		Subjects: []string{events.SubjectDeliveryAll},
	}); err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// message is one delivery message to publish.
type message struct {
	body     string
	sequence string            // Ketenbus-Event-Sequence header
	header   map[string]string // further headers
}

func publish(t *testing.T, js jetstream.JetStream, partnerID string, msgs []message) {
	t.Helper()
	for _, m := range msgs {
		msg := nats.NewMsg(events.DeliverySubject(partnerID))
		msg.Data = []byte(m.body)
		if m.sequence != "" {
			msg.Header.Set(partner.HeaderEventSequence, m.sequence)
		}
		for k, v := range m.header {
			msg.Header.Set(k, v)
		}
		if _, err := js.PublishMsg(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
	}
}

// deliveryEvent is a structured event as the router puts it on DELIVERY,
// without the sequence extension when sequence is "".
func deliveryEvent(id, sequence string) string {
	ext := ""
	if sequence != "" {
		ext = fmt.Sprintf(`"sequence":%q,`, sequence)
	}
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":%q,"type":%q,"subject":%q,%s"data":{"categorie":"schulden"}}`,
		id, testSource, events.TypeSignaal, testSubject, ext)
}

// eventually polls cond until it holds or 15 seconds passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConsume(t *testing.T) {
	t.Parallel()
	nc, js := startNATS(t)
	tests := []struct {
		name           string
		publish        []message
		answers        []error
		idempotency    bool
		wantCalls      []string // event ids, in call order
		wantSequences  []uint64
		wantDelivered  []uint64 // NumDelivered per call
		wantMinGap     time.Duration
		wantTerminated int
	}{
		{
			name: "acks and sets sequence",
			publish: []message{
				{body: deliveryEvent("e1", ""), sequence: "101"},
				{body: deliveryEvent("e2", ""), sequence: "102"},
				{body: deliveryEvent("e3", "999"), sequence: "103"}, // the event's own extension wins
			},
			wantCalls:     []string{"e1", "e2", "e3"},
			wantSequences: []uint64{101, 102, 999},
			wantDelivered: []uint64{1, 1, 1},
		},
		{
			name:          "RetryAfter redelivers after the delay",
			publish:       []message{{body: deliveryEvent("e1", ""), sequence: "7"}},
			answers:       []error{partner.RetryAfter(errors.New("busy"), 300*time.Millisecond)},
			wantCalls:     []string{"e1", "e1"},
			wantSequences: []uint64{7, 7},
			wantDelivered: []uint64{1, 2},
			wantMinGap:    300 * time.Millisecond,
		},
		{
			name:          "other error redelivers after a backoff",
			publish:       []message{{body: deliveryEvent("e1", ""), sequence: "8"}},
			answers:       []error{errors.New("database down")},
			wantCalls:     []string{"e1", "e1"},
			wantDelivered: []uint64{1, 2},
			wantMinGap:    time.Second,
		},
		{
			name:           "Reject terminates",
			publish:        []message{{body: deliveryEvent("e1", ""), sequence: "9"}, {body: deliveryEvent("e2", ""), sequence: "10"}},
			answers:        []error{partner.Reject(errors.New("unknown client"))},
			wantCalls:      []string{"e1", "e2"},
			wantDelivered:  []uint64{1, 1},
			wantTerminated: 1,
		},
		{
			name:           "not a CloudEvent is terminated unhandled",
			publish:        []message{{body: "{not json"}, {body: `{"specversion":"1.0"}`}, {body: deliveryEvent("e1", "3")}},
			wantCalls:      []string{"e1"},
			wantTerminated: 2,
		},
		{
			name: "duplicates acked unhandled",
			publish: []message{
				{body: deliveryEvent("e1", "1")}, {body: deliveryEvent("e1", "1")}, {body: deliveryEvent("e2", "2")},
			},
			idempotency: true,
			wantCalls:   []string{"e1", "e2"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			partnerID := fmt.Sprintf("partner-%d", i)
			consumer := fmt.Sprintf("consumer-%d", i)
			terminated, err := nc.SubscribeSync(fmt.Sprintf("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.%s.%s", events.StreamDelivery, consumer))
			if err != nil {
				t.Fatal(err)
			}
			publish(t, js, partnerID, tt.publish)

			rec := &recorder{answers: tt.answers}
			cfg := partner.ConsumeConfig{Consumer: consumer, Partner: partnerID, Create: true}
			if tt.idempotency {
				cfg.Idempotency = partner.NewMemoryStore(time.Hour, 100)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- partner.Consume(ctx, js, cfg, rec.handle) }()

			eventually(t, fmt.Sprintf("%d calls", len(tt.wantCalls)), func() bool { return len(rec.calls()) >= len(tt.wantCalls) })
			cons, err := js.Consumer(t.Context(), events.StreamDelivery, consumer)
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "every message is settled", func() bool {
				info, err := cons.Info(t.Context())
				return err == nil && info.NumPending == 0 && info.NumAckPending == 0
			})
			time.Sleep(100 * time.Millisecond) // room for a wrong redelivery
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Consume: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Consume did not return after cancel")
			}

			calls, deliveries, times := rec.calls(), rec.allDeliveries(), rec.callTimes()
			var ids []string
			for _, e := range calls {
				ids = append(ids, e.ID())
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.wantCalls) {
				t.Fatalf("calls %v, want %v", ids, tt.wantCalls)
			}
			for j, want := range tt.wantSequences {
				if seq, ok := partner.Sequence(calls[j]); !ok || seq != want || deliveries[j].Sequence != want {
					t.Errorf("call %d: sequence %d (%v), delivery %d; want %d", j, seq, ok, deliveries[j].Sequence, want)
				}
			}
			for j, want := range tt.wantDelivered {
				if deliveries[j].NumDelivered != want {
					t.Errorf("call %d: NumDelivered %d, want %d", j, deliveries[j].NumDelivered, want)
				}
			}
			if tt.wantMinGap > 0 {
				if gap := times[1].Sub(times[0]); gap < tt.wantMinGap {
					t.Errorf("redelivered after %s, want at least %s", gap, tt.wantMinGap)
				}
			}
			if n, _, _ := terminated.Pending(); n != tt.wantTerminated {
				t.Errorf("%d terminated advisories, want %d", n, tt.wantTerminated)
			}
		})
	}

	t.Run("Gone stops and keeps the message", func(t *testing.T) {
		t.Parallel()
		cfg := partner.ConsumeConfig{Consumer: "consumer-gone", Partner: "partner-gone", Create: true}
		publish(t, js, cfg.Partner, []message{{body: deliveryEvent("e1", "5")}})
		rec := &recorder{answers: []error{partner.Gone(errors.New("service decommissioned"))}}
		err := partner.Consume(t.Context(), js, cfg, rec.handle)
		if !errors.Is(err, partner.ErrGone) {
			t.Fatalf("Consume returned %v, want ErrGone", err)
		}
		// Consuming again finds the event still there.
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- partner.Consume(ctx, js, cfg, rec.handle) }()
		eventually(t, "redelivery", func() bool { return len(rec.calls()) == 2 })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if d := rec.lastDelivery(); d.ID != events.MsgID(testSource, "e1") || d.NumDelivered < 2 {
			t.Errorf("delivery %+v", d)
		}
	})

	t.Run("deduplicates on the delivery id", func(t *testing.T) {
		t.Parallel()
		// politie and ggz both send x-1: two deliveries, two delivery ids;
		// a replay of politie's (the same delivery id, another message) is
		// a duplicate.
		const ggzSource = "urn:nld:kvknr:99999901:systeem:epd"
		cfg := partner.ConsumeConfig{Consumer: "consumer-ids", Partner: "partner-ids", Create: true,
			Idempotency: partner.NewMemoryStore(time.Hour, 10)}
		politieID := events.DeliveryID(cfg.Partner, "signalen", events.MsgID(testSource, "x-1"))
		ggzID := events.DeliveryID(cfg.Partner, "signalen", events.MsgID(ggzSource, "x-1"))
		ids := func(id string) map[string]string {
			return map[string]string{partner.HeaderDeliveryID: id, partner.HeaderPartner: cfg.Partner, partner.HeaderSubscription: "signalen"}
		}
		publish(t, js, cfg.Partner, []message{
			{body: deliveryEvent("x-1", "1"), header: ids(politieID)},
			{body: strings.Replace(deliveryEvent("x-1", "2"), testSource, ggzSource, 1), header: ids(ggzID)},
			{body: deliveryEvent("x-1", "1"), header: ids(politieID)},
			{body: deliveryEvent("x-2", "3")},
		})
		rec := &recorder{}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- partner.Consume(ctx, js, cfg, rec.handle) }()
		eventually(t, "x-2 handled", func() bool {
			calls := rec.calls()
			return len(calls) > 0 && calls[len(calls)-1].ID() == "x-2"
		})
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		ds := rec.allDeliveries()
		if len(ds) != 3 {
			t.Fatalf("handled %d deliveries, want 3 (the replay is a duplicate): %+v", len(ds), ds)
		}
		if ds[0].ID != politieID || ds[1].ID != ggzID || ds[0].Subscription != "signalen" {
			t.Errorf("delivery ids %q %q, want %q %q", ds[0].ID, ds[1].ID, politieID, ggzID)
		}
		if ds[2].ID != events.MsgID(testSource, "x-2") {
			t.Errorf("a message without delivery headers has id %q, want the event's Nats-Msg-Id", ds[2].ID)
		}
	})

	t.Run("existing consumer", func(t *testing.T) {
		t.Parallel()
		if _, err := js.CreateConsumer(t.Context(), events.StreamDelivery, jetstream.ConsumerConfig{
			Durable:       "consumer-existing",
			FilterSubject: events.DeliverySubject("partner-existing"),
			AckPolicy:     jetstream.AckExplicitPolicy,
		}); err != nil {
			t.Fatal(err)
		}
		publish(t, js, "partner-existing", []message{{body: deliveryEvent("e1", "5")}})
		rec := &recorder{}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- partner.Consume(ctx, js, partner.ConsumeConfig{Consumer: "consumer-existing"}, rec.handle)
		}()
		eventually(t, "delivery", func() bool { return len(rec.calls()) == 1 })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("missing consumer", func(t *testing.T) {
		t.Parallel()
		err := partner.Consume(t.Context(), js, partner.ConsumeConfig{Consumer: "nobody"}, (&recorder{}).handle)
		if !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Fatalf("Consume returned %v, want ErrConsumerNotFound", err)
		}
	})
}

func TestConsumeConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     partner.ConsumeConfig
		wantErr []string
	}{
		{name: "existing consumer", cfg: partner.ConsumeConfig{Consumer: "c"}},
		{name: "create", cfg: partner.ConsumeConfig{Consumer: "c", Partner: "gemeente-groningen", Create: true}},
		{name: "empty", cfg: partner.ConsumeConfig{}, wantErr: []string{"ConsumeConfig.Consumer is missing"}},
		{name: "create without partner", cfg: partner.ConsumeConfig{Consumer: "c", Create: true}, wantErr: []string{"ConsumeConfig.Partner is missing"}},
		{name: "bad partner", cfg: partner.ConsumeConfig{Consumer: "c", Partner: "Gemeente Groningen"}, wantErr: []string{"ConsumeConfig.Partner"}},
		{name: "negative", cfg: partner.ConsumeConfig{Consumer: "c", MaxAckPending: -1, AckWait: -time.Second}, wantErr: []string{"ConsumeConfig.MaxAckPending", "ConsumeConfig.AckWait"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkConfigError(t, tt.cfg.Validate(), tt.wantErr)
		})
	}
}

// TestDeliveryID: the header when ketenbus set it; for an older message,
// derived as ketenbus derives it; never the bare event id.
func TestDeliveryID(t *testing.T) {
	t.Parallel()
	e := event.New()
	e.SetID("x-1")
	e.SetSource(testSource)
	derived := events.DeliveryID("zvh", "signalen", events.MsgID(testSource, "x-1"))
	for _, tc := range []struct {
		header http.Header
		want   string
	}{
		{http.Header{partner.HeaderDeliveryID: {"d-1"}, partner.HeaderPartner: {"zvh"}, partner.HeaderSubscription: {"signalen"}}, "d-1"},
		{http.Header{partner.HeaderPartner: {"zvh"}, partner.HeaderSubscription: {"signalen"}}, derived},
		{http.Header{partner.HeaderPartner: {"zvh"}}, events.MsgID(testSource, "x-1")},
		{http.Header{}, events.MsgID(testSource, "x-1")},
	} {
		if got := partner.DeliveryID(tc.header, e); got != tc.want {
			t.Errorf("DeliveryID(%v) = %q, want %q", tc.header, got, tc.want)
		}
	}
}
