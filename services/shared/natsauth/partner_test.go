package natsauth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natsauthtest"
)

// TestPartnerReceivesOwnDeliveries: partner A, connected as its own user
// with its own inbox prefix, receives a message published to
// ketenbus.deliver.<A> through the partner SDK's Consume bound to its
// durable, and its acknowledgement reaches the server.
func TestPartnerReceivesOwnDeliveries(t *testing.T) {
	t.Parallel()
	s := natsauthtest.Start(t, natsauthtest.LoadRegion(t, testRegion))
	natsauthtest.Deliver(t, s, partnerA, "for-a-1")

	a := s.Connect(t, natsauth.PartnerUser(partnerA))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		ids []string
	)
	done := make(chan error, 1)
	go func() {
		done <- partner.Consume(ctx, a.JS, partner.ConsumeConfig{Consumer: bus.PartnerConsumer(partnerA)},
			func(_ context.Context, e cloudevents.Event) error {
				mu.Lock()
				ids = append(ids, e.ID())
				mu.Unlock()
				cancel()
				return nil
			})
	}()
	if err := <-done; err != nil {
		t.Fatalf("partner.Consume as %s: %v", a.User, err)
	}
	mu.Lock()
	got := fmt.Sprint(ids)
	mu.Unlock()
	if got != "[for-a-1]" {
		t.Fatalf("partner A received %s, want [for-a-1]", got)
	}
	natsauthtest.ExpectNoViolations(t, a)
	// The ack went through: nothing pending or unacknowledged.
	deadline := time.Now().Add(5 * time.Second)
	for {
		info := s.ConsumerState(t, events.StreamDelivery, bus.PartnerConsumer(partnerA))
		if info.Delivered.Stream == 1 && info.NumAckPending == 0 && info.NumPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer of A after consuming: delivered %d, unacknowledged %d, pending %d; want 1, 0, 0",
				info.Delivered.Stream, info.NumAckPending, info.NumPending)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPartnerCannotReadOtherDeliveries: partner A cannot get at partner
// B's deliveries in any way: not by subscribing to B's subject or B's
// inbox, not through B's durable, not by creating a consumer of its own
// (or widening its own), not by reading the DELIVERY stream directly; and
// B's delivery stays pending for B.
func TestPartnerCannotReadOtherDeliveries(t *testing.T) {
	t.Parallel()
	s := natsauthtest.Start(t, natsauthtest.LoadRegion(t, testRegion))
	natsauthtest.Deliver(t, s, partnerB, "for-b-1")
	durableB := bus.PartnerConsumer(partnerB)
	pull := []byte(`{"batch":1,"expires":200000000}`)

	for _, subject := range []string{
		events.DeliverySubject(partnerB),
		events.SubjectDeliveryAll,
		events.SubjectEventsAll,
		natsauth.InboxPrefix(natsauth.PartnerUser(partnerB)) + ".>", // B's replies, pulled messages included
		"_INBOX.>", // the default inbox of any client
		">",
	} {
		t.Run("subscribe "+subject, func(t *testing.T) {
			t.Parallel()
			natsauthtest.ExpectSubscribeDenied(t, s.Connect(t, natsauth.PartnerUser(partnerA)), subject)
		})
	}

	for _, tc := range []struct {
		name, subject string
		do            func(a *natsauthtest.Client) func(context.Context) error
	}{
		{"bind to B's durable", "$JS.API.CONSUMER.INFO.DELIVERY." + durableB, func(a *natsauthtest.Client) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := a.JS.Consumer(ctx, events.StreamDelivery, durableB)
				return err
			}
		}},
		{"pull from B's durable", "$JS.API.CONSUMER.MSG.NEXT.DELIVERY." + durableB, func(a *natsauthtest.Client) func(context.Context) error {
			return natsauthtest.Request(a, "$JS.API.CONSUMER.MSG.NEXT.DELIVERY."+durableB, pull)
		}},
		{"create a consumer filtered on B", "$JS.API.CONSUMER.CREATE.DELIVERY.spy.ketenbus.deliver." + partnerB, func(a *natsauthtest.Client) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := a.JS.CreateOrUpdateConsumer(ctx, events.StreamDelivery, jetstream.ConsumerConfig{Durable: "spy", FilterSubject: events.DeliverySubject(partnerB)})
				return err
			}
		}},
		{"create a consumer without filter", "$JS.API.CONSUMER.CREATE.DELIVERY.spy", func(a *natsauthtest.Client) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := a.JS.CreateOrUpdateConsumer(ctx, events.StreamDelivery, jetstream.ConsumerConfig{Durable: "spy"})
				return err
			}
		}},
		{"create an ephemeral consumer", "$JS.API.CONSUMER.CREATE.DELIVERY", func(a *natsauthtest.Client) func(context.Context) error {
			return natsauthtest.Request(a, "$JS.API.CONSUMER.CREATE.DELIVERY", []byte(`{"stream_name":"DELIVERY","config":{"ack_policy":"none"}}`))
		}},
		{"create a durable the old way", "$JS.API.CONSUMER.DURABLE.CREATE.DELIVERY.spy", func(a *natsauthtest.Client) func(context.Context) error {
			return natsauthtest.Request(a, "$JS.API.CONSUMER.DURABLE.CREATE.DELIVERY.spy", []byte(`{"stream_name":"DELIVERY","config":{"durable_name":"spy","ack_policy":"explicit"}}`))
		}},
		{"widen its own consumer to B", "$JS.API.CONSUMER.CREATE.DELIVERY." + bus.PartnerConsumer(partnerA) + ".ketenbus.deliver." + partnerB, func(a *natsauthtest.Client) func(context.Context) error {
			return func(ctx context.Context) error {
				cc := bus.PartnerConsumerConfig(partnerA)
				cc.FilterSubject = events.DeliverySubject(partnerB)
				_, err := a.JS.CreateOrUpdateConsumer(ctx, events.StreamDelivery, cc)
				return err
			}
		}},
		{"stream message get", "$JS.API.STREAM.MSG.GET.DELIVERY", func(a *natsauthtest.Client) func(context.Context) error {
			return natsauthtest.Request(a, "$JS.API.STREAM.MSG.GET.DELIVERY", []byte(`{"seq":1}`))
		}},
		{"direct get", "$JS.API.DIRECT.GET.DELIVERY", func(a *natsauthtest.Client) func(context.Context) error {
			return natsauthtest.Request(a, "$JS.API.DIRECT.GET.DELIVERY", []byte(`{"seq":1}`))
		}},
		{"direct get of B's last", "$JS.API.DIRECT.GET.DELIVERY.ketenbus.deliver." + partnerB, func(a *natsauthtest.Client) func(context.Context) error {
			return natsauthtest.Request(a, "$JS.API.DIRECT.GET.DELIVERY.ketenbus.deliver."+partnerB, nil)
		}},
		{"stream info", "$JS.API.STREAM.INFO.DELIVERY", func(a *natsauthtest.Client) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := a.JS.Stream(ctx, events.StreamDelivery)
				return err
			}
		}},
		{"ack B's message", "$JS.ACK.DELIVERY." + durableB + ".1.1.1.1.0", func(a *natsauthtest.Client) func(context.Context) error {
			return natsauthtest.Request(a, "$JS.ACK.DELIVERY."+durableB+".1.1.1.1.0", nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := s.Connect(t, natsauth.PartnerUser(partnerA))
			natsauthtest.ExpectPublishDenied(t, a, tc.subject, tc.do(a))
		})
	}

	t.Cleanup(func() {
		info := s.ConsumerState(t, events.StreamDelivery, durableB)
		if info.NumPending != 1 || info.Delivered.Stream != 0 {
			t.Errorf("B's consumer after A's attempts: %d pending, %d delivered; want B's delivery untouched (1, 0)", info.NumPending, info.Delivered.Stream)
		}
		if _, err := s.Connect(t, natsauth.UserAdmin).JS.Consumer(context.Background(), events.StreamDelivery, "spy"); err == nil {
			t.Error("a consumer spy exists on DELIVERY")
		}
	})
}

// TestPartnerCannotPublish: partner A cannot put events on EVENTS (no
// PubAck, a permissions violation, nothing stored), nor forge deliveries
// for B, nor write to the DLQ or AUDIT.
func TestPartnerCannotPublish(t *testing.T) {
	t.Parallel()
	s := natsauthtest.Start(t, natsauthtest.LoadRegion(t, testRegion))
	for _, subject := range []string{
		events.EventSubject(events.TypeSignaal, partnerA),
		events.EventSubject(events.TypeSamenloop, events.Producer),
		events.DeliverySubject(partnerB),
		events.DLQSubject(partnerA),
		events.AuditSubject(partnerA),
	} {
		t.Run(subject, func(t *testing.T) {
			t.Parallel()
			a := s.Connect(t, natsauth.PartnerUser(partnerA))
			natsauthtest.ExpectPublishDenied(t, a, subject, natsauthtest.PublishMsg(a, subject))
		})
	}
	t.Cleanup(func() {
		for _, stream := range []string{events.StreamEvents, events.StreamDelivery, events.StreamDLQ, events.StreamAudit} {
			if n := s.StreamMsgs(t, stream); n != 0 {
				t.Errorf("%s holds %d messages after partner A's attempts, want 0", stream, n)
			}
		}
	})
}

// TestPartnerCannotTouchDLQ: partner A can neither read nor change the
// DLQ, not even its own dead letters.
func TestPartnerCannotTouchDLQ(t *testing.T) {
	t.Parallel()
	s := natsauthtest.Start(t, natsauthtest.LoadRegion(t, testRegion))
	ad := s.Connect(t, natsauth.UserAdapter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ad.JS.Publish(ctx, events.DLQSubject(partnerA), natsauthtest.Delivery(t, "dead-1")); err != nil {
		t.Fatalf("adapter stores a dead letter: %v", err)
	}

	t.Run("subscribe", func(t *testing.T) {
		t.Parallel()
		natsauthtest.ExpectSubscribeDenied(t, s.Connect(t, natsauth.PartnerUser(partnerA)), events.SubjectDLQAll)
	})
	for _, tc := range []struct {
		name, subject string
		body          string
	}{
		{"create a consumer", "$JS.API.CONSUMER.CREATE.DLQ.spy.ketenbus.dlq." + partnerA,
			`{"stream_name":"DLQ","config":{"durable_name":"spy","filter_subject":"ketenbus.dlq.` + partnerA + `","ack_policy":"explicit"}}`},
		{"create an ephemeral consumer", "$JS.API.CONSUMER.CREATE.DLQ", `{"stream_name":"DLQ","config":{"ack_policy":"none"}}`},
		{"message get", "$JS.API.STREAM.MSG.GET.DLQ", `{"seq":1}`},
		{"direct get", "$JS.API.DIRECT.GET.DLQ", `{"seq":1}`},
		{"purge", "$JS.API.STREAM.PURGE.DLQ", `{}`},
		{"delete a message", "$JS.API.STREAM.MSG.DELETE.DLQ", `{"seq":1}`},
		{"delete the stream", "$JS.API.STREAM.DELETE.DLQ", ``},
		{"update the stream", "$JS.API.STREAM.UPDATE.DLQ", `{"name":"DLQ","subjects":["ketenbus.dlq.>"],"max_msgs":0}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := s.Connect(t, natsauth.PartnerUser(partnerA))
			natsauthtest.ExpectPublishDenied(t, a, tc.subject, natsauthtest.Request(a, tc.subject, []byte(tc.body)))
		})
	}
	t.Cleanup(func() {
		if n := s.StreamMsgs(t, events.StreamDLQ); n != 1 {
			t.Errorf("DLQ holds %d messages after partner A's attempts, want its 1 dead letter", n)
		}
	})
}

// TestWrongPasswordAndNoUser: a partner cannot connect as another user,
// nor without a user.
func TestWrongPasswordAndNoUser(t *testing.T) {
	t.Parallel()
	s := natsauthtest.Start(t, natsauthtest.LoadRegion(t, testRegion))
	if _, err := natsConnect(s.URL, natsauth.PartnerUser(partnerB), s.Passwords[natsauth.PartnerUser(partnerA)]); err == nil {
		t.Error("partner A's password let it in as partner B")
	}
	if nc, err := nats.Connect(s.URL, nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Error("a client without a user was let in")
	}
}

// TestPartnerNeedsItsInboxPrefix: a partner that connects with the default
// inbox prefix gets no answers (its inbox subscription is refused), so the
// partner SDK's Consume fails instead of consuming, as its documentation
// says.
func TestPartnerNeedsItsInboxPrefix(t *testing.T) {
	t.Parallel()
	s := natsauthtest.Start(t, natsauthtest.LoadRegion(t, testRegion))
	natsauthtest.Deliver(t, s, partnerA, "for-a-1")
	user := natsauth.PartnerUser(partnerA)
	a := natsauthtest.ConnectWith(t, s.URL, user, s.Passwords[user])
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := partner.Consume(ctx, a.JS, partner.ConsumeConfig{Consumer: bus.PartnerConsumer(partnerA)},
		func(context.Context, cloudevents.Event) error { return nil })
	if err == nil {
		t.Fatal("Consume with the default inbox prefix returned nil")
	}
	refused := false
	for _, v := range a.Violations() {
		refused = refused || strings.Contains(v, `Permissions Violation for Subscription to "_INBOX.`)
	}
	if !refused {
		t.Errorf("no permissions violation for the default inbox; violations: %q", a.Violations())
	}
}
