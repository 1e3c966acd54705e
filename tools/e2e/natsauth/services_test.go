package natsauth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natsauthtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// inbox records what a NATS-native partner consumed with the partner SDK.
type inbox struct {
	mu    sync.Mutex
	types []string
}

func (in *inbox) handle(_ context.Context, e cloudevents.Event) error {
	in.mu.Lock()
	in.types = append(in.types, e.Type())
	in.mu.Unlock()
	return nil
}

func (in *inbox) received() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Sorted(slices.Values(in.types))
}

// TestServicesRunUnderTheirUsers runs every ketenbus service, each
// connected as its own user with its own inbox prefix, and the two
// NATS-native partners with the partner SDK: signalen of both partners on
// the same person go through the gateway, EVENTS, the samenloop service
// (which reads the signalen back by sequence and publishes a samenloop),
// the router and DELIVERY to the partners' consumers and, through the
// adapter, to the webhook partner; an aanmelding reaches the escalator and
// partner B. The server refuses nothing any of them does.
func TestServicesRunUnderTheirUsers(t *testing.T) {
	t.Parallel()
	t.Run("a server of one region", func(t *testing.T) { t.Parallel(); servicesRunUnderTheirUsers(t, "") })
	t.Run("the region in an account", func(t *testing.T) { t.Parallel(); servicesRunUnderTheirUsers(t, "testregio") })
}

func servicesRunUnderTheirUsers(t *testing.T, account string) {
	c := startCore(t, account)
	rdb := redistest.Start(t).Client(t)
	e2etest.Start(t, "escalator", escalator.New, escalator.Config{ServiceConfig: projector.ServiceConfig{Region: c.cfg, JetStream: c.connect(t, natsauth.UserEscalator), Redis: rdb, Logger: c.log("escalator")}})
	e2etest.Start(t, "samenloop", samenloop.New, samenloop.Config{ServiceConfig: projector.ServiceConfig{Region: c.cfg, JetStream: c.connect(t, natsauth.UserSamenloop), Redis: rdb, Logger: c.log("samenloop")}})
	inboxes := map[string]*inbox{}
	for _, id := range []string{partnerA, partnerB} {
		in := &inbox{}
		inboxes[id] = in
		js := c.connect(t, natsauth.PartnerUser(id))
		runtest.Start(t, "partner "+id, func(ctx context.Context) error {
			return partner.Consume(ctx, js, partner.ConsumeConfig{Consumer: bus.PartnerConsumer(id)}, in.handle)
		})
	}

	signaal := map[string]any{"bsn": bsn, "categorie": "schulden", "urgentie": "midden", "contactpersoon": map[string]any{"naam": "J. Jansen"}}
	c.post(t, partnerB, "signaal-b", events.TypeSignaal, signaal)
	c.post(t, partnerA, "signaal-a", events.TypeSignaal, signaal)
	c.post(t, webhookOne, "aanmelding-1", events.TypeAanmelding, map[string]any{
		"bsn": bsn, "ontvanger": partnerB, "reden": "Betalingsachterstand", "contactpersoon": map[string]any{"naam": "K. de Vries"},
		"reactietermijn": map[string]any{"werkdagen": 5},
	})

	want := map[string][]string{
		partnerA: {events.TypeSamenloop},
		partnerB: {events.TypeAanmelding, events.TypeSamenloop},
	}
	wantHook := []string{events.TypeSamenloop, events.TypeSignaal, events.TypeSignaal} // the regievoerder
	deadline := time.Now().Add(30 * time.Second)
	for {
		done := slices.Equal(c.hook.Delivered(), wantHook)
		for id, types := range want {
			done = done && slices.Equal(inboxes[id].received(), types)
		}
		if done {
			break
		}
		if len(c.violations()) > 0 || time.Now().After(deadline) {
			t.Fatalf("partner A received %v, partner B %v, the webhook %v; want %v, %v, %v",
				inboxes[partnerA].received(), inboxes[partnerB].received(), c.hook.Delivered(),
				want[partnerA], want[partnerB], wantHook)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The escalator took the aanmelding (and the signalen are not its).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info := c.srv.ConsumerState(t, events.StreamEvents, bus.ConsumerEscalator)
		if info.Delivered.Consumer >= 1 && info.NumPending == 0 && info.NumAckPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("escalator consumer: delivered %d, pending %d, unacknowledged %d", info.Delivered.Consumer, info.NumPending, info.NumAckPending)
		}
	}
	time.Sleep(200 * time.Millisecond) // a late refusal would show now
	for _, cl := range c.conns {
		natsauthtest.ExpectNoViolations(t, cl)
	}
}

// TestServiceUsersLeastPrivilege: each service user can do the writes of
// its job (a PubAck) and is refused what is not its job.
func TestServiceUsersLeastPrivilege(t *testing.T) {
	t.Parallel()
	s := natsauthtest.Start(t, natsauthtest.LoadRegion(t, testRegion))
	natsauthtest.Deliver(t, s, partnerA, "for-a-1")
	signaalA := events.EventSubject(events.TypeSignaal, partnerA)
	gw := s.Connect(t, natsauth.UserGateway)
	if _, err := gw.JS.Publish(context.Background(), signaalA, []byte(`{}`)); err != nil {
		t.Fatalf("gateway stores an event: %v", err)
	}
	escalatie := events.EventSubject(events.TypeEscalatie, events.Producer)
	samenloopSubject := events.EventSubject(events.TypeSamenloop, events.Producer)

	type check struct {
		name    string
		subject string // the subject the server refuses; "" for an allowed call
		do      func(c *natsauthtest.Client) func(context.Context) error
	}
	pub := func(subject string) check {
		return check{"publish " + subject, "", func(c *natsauthtest.Client) func(context.Context) error { return natsauthtest.PublishMsg(c, subject) }}
	}
	denyPub := func(subject string) check {
		return check{"no publish " + subject, subject, func(c *natsauthtest.Client) func(context.Context) error { return natsauthtest.PublishMsg(c, subject) }}
	}
	denyAPI := func(subject, body string) check {
		return check{"no " + subject, subject, func(c *natsauthtest.Client) func(context.Context) error {
			return natsauthtest.Request(c, subject, []byte(body))
		}}
	}
	denySub := func(subject string) check {
		return check{"no subscribe " + subject, "sub:" + subject, nil}
	}
	// What rebuilding a projection from EVENTS takes: an ordered consumer
	// read to the end, and single messages.
	rebuild := check{"read EVENTS to rebuild", "", func(c *natsauthtest.Client) func(context.Context) error {
		return func(ctx context.Context) error {
			n, err := streams.Replay(ctx, c.JS, events.StreamEvents, []string{events.SubjectEventsAll}, streams.ReplayOptions{}, func(jetstream.Msg) error { return nil })
			if err == nil && n == 0 {
				return errors.New("replay read nothing")
			}
			if err != nil {
				return err
			}
			_, err = streams.Holds(ctx, c.JS, events.StreamEvents, []string{signaalA}, 1, 10)
			return err
		}
	}}
	notOthers := func(durables ...string) []check {
		var cs []check
		for _, d := range durables {
			cs = append(cs,
				denyAPI("$JS.API.CONSUMER.MSG.NEXT.EVENTS."+d, `{"batch":1}`),
				denyAPI("$JS.API.CONSUMER.CREATE.EVENTS."+d, `{}`),
				denyAPI("$JS.API.CONSUMER.DELETE.EVENTS."+d, ``))
		}
		return cs
	}
	createStream := denyAPI("$JS.API.STREAM.CREATE.EVENTS", `{"name":"EVENTS","subjects":["ketenbus.events.>"]}`)
	deleteStream := denyAPI("$JS.API.STREAM.DELETE.EVENTS", ``)
	purgeEvents := denyAPI("$JS.API.STREAM.PURGE.EVENTS", `{}`)

	for user, checks := range map[string][]check{
		natsauth.UserGateway: {
			pub(signaalA),
			{"stream info EVENTS (readiness)", "", func(c *natsauthtest.Client) func(context.Context) error {
				return func(ctx context.Context) error { _, err := c.JS.Stream(ctx, events.StreamEvents); return err }
			}},
			denyPub(samenloopSubject), denyPub(escalatie), // events in the name of ketenbus
			denyPub(events.DeliverySubject(partnerA)), denyPub(events.DLQSubject(partnerA)),
			denySub(events.SubjectDeliveryAll), denySub(events.SubjectEventsAll),
			denyAPI("$JS.API.STREAM.MSG.GET.EVENTS", `{"seq":1}`),
			denyAPI("$JS.API.CONSUMER.CREATE.EVENTS.spy", `{}`),
			createStream, deleteStream, purgeEvents,
		},
		natsauth.UserRouter: {
			pub(events.DeliverySubject(partnerB)),
			{"consume EVENTS as router", "", func(c *natsauthtest.Client) func(context.Context) error {
				return func(ctx context.Context) error {
					_, err := c.JS.CreateOrUpdateConsumer(ctx, events.StreamEvents, jetstream.ConsumerConfig{
						Durable: bus.ConsumerRouter, FilterSubject: events.SubjectEventsAll, AckPolicy: jetstream.AckExplicitPolicy})
					return err
				}
			}},
			pub(events.AuditSubject(partnerB)),
			denyPub(events.DLQSubject(partnerA)), denyPub(signaalA),
			denySub(events.SubjectDeliveryAll),
			denyAPI("$JS.API.CONSUMER.CREATE.EVENTS.spy.ketenbus.events.>", `{}`),
			denyAPI("$JS.API.CONSUMER.CREATE.DELIVERY."+bus.PartnerConsumer(partnerA)+".ketenbus.deliver."+partnerA, `{}`),
			denyAPI("$JS.API.CONSUMER.MSG.NEXT.DELIVERY."+bus.PartnerConsumer(partnerA), `{"batch":1}`),
			createStream, deleteStream, purgeEvents,
		},
		natsauth.UserAdapter: {
			pub(events.DLQSubject(webhookOne)), pub(events.AuditSubject(webhookOne)),
			{"keep the retired bucket", "", func(c *natsauthtest.Client) func(context.Context) error {
				return func(ctx context.Context) error {
					// As adapter.Run opens it, and as a 410 Gone retires a subscription.
					kv, err := c.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bus.RetiredBucket, History: 5, Storage: jetstream.FileStorage,
						Description: "ketenbus webhook subscriptions retired after 410 Gone"})
					if err != nil {
						return err
					}
					w, err := kv.WatchAll(ctx)
					if err != nil {
						return err
					}
					defer w.Stop()
					if _, err := kv.Create(ctx, bus.RetiredKey(webhookOne, "signalen"), []byte(`{"status":410}`)); err != nil {
						return err
					}
					if _, err := kv.Create(ctx, bus.RetiredKey(webhookOne, "signalen"), []byte(`{"status":410}`)); !errors.Is(err, jetstream.ErrKeyExists) {
						return fmt.Errorf("second Create: %v, want ErrKeyExists", err)
					}
					_, err = kv.Get(ctx, bus.RetiredKey(webhookOne, "signalen"))
					return err
				}
			}},
			denyAPI("$JS.API.STREAM.CREATE.KV_other", `{"name":"KV_other","subjects":["$KV.other.>"]}`),
			// Its own consumer cannot be widened to every partner's deliveries.
			denyAPI("$JS.API.CONSUMER.CREATE.DELIVERY.adapter-"+webhookOne+".ketenbus.deliver.>",
				`{"stream_name":"DELIVERY","config":{"durable_name":"adapter-`+webhookOne+`","filter_subject":"ketenbus.deliver.>","ack_policy":"explicit"}}`),
			denyAPI("$JS.API.CONSUMER.CREATE.DELIVERY.adapter-"+webhookOne,
				`{"stream_name":"DELIVERY","config":{"durable_name":"adapter-`+webhookOne+`","ack_policy":"explicit"}}`),
			denyPub(signaalA), denyPub(events.DeliverySubject(partnerA)),
			denySub(events.SubjectDeliveryAll),
			// A NATS-native partner's deliveries are the partner's own.
			denyAPI("$JS.API.CONSUMER.MSG.NEXT.DELIVERY."+bus.PartnerConsumer(partnerA), `{"batch":1}`),
			denyAPI("$JS.API.CONSUMER.CREATE.DELIVERY.adapter-"+partnerA+".ketenbus.deliver."+partnerA, `{}`),
			denyAPI("$JS.API.STREAM.PURGE.DLQ", `{}`),
			createStream, deleteStream,
		},
		natsauth.UserEscalator: append(notOthers(bus.ConsumerRouter, bus.ConsumerSamenloop),
			pub(escalatie), pub(events.AuditSubject(partnerB)), rebuild,
			denyPub(samenloopSubject), denyPub(signaalA), denyPub(events.DeliverySubject(partnerA)),
			denySub(events.SubjectEventsAll),
			denyAPI("$JS.API.STREAM.MSG.GET.DELIVERY", `{"seq":1}`),
			createStream, deleteStream, purgeEvents,
		),
		natsauth.UserSamenloop: append(notOthers(bus.ConsumerRouter, bus.ConsumerEscalator),
			pub(samenloopSubject), pub(events.AuditSubject(partnerB)),
			check{"get an EVENTS message by sequence", "", func(c *natsauthtest.Client) func(context.Context) error {
				return func(ctx context.Context) error {
					st, err := c.JS.Stream(ctx, events.StreamEvents)
					if err != nil {
						return err
					}
					_, err = st.GetMsg(ctx, 1)
					return err
				}
			}},
			rebuild,
			denyPub(escalatie), denyPub(signaalA), denyPub(events.DeliverySubject(partnerA)),
			denyAPI("$JS.API.STREAM.MSG.GET.DELIVERY", `{"seq":1}`),
			createStream, deleteStream, purgeEvents,
		),
	} {
		t.Run(user, func(t *testing.T) {
			t.Parallel()
			for _, ck := range checks {
				t.Run(ck.name, func(t *testing.T) {
					t.Parallel()
					c := s.Connect(t, user)
					switch {
					case ck.do == nil:
						natsauthtest.ExpectSubscribeDenied(t, c, ck.subject[len("sub:"):])
					case ck.subject != "":
						natsauthtest.ExpectPublishDenied(t, c, ck.subject, ck.do(c))
					default:
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						defer cancel()
						if err := ck.do(c)(ctx); err != nil {
							t.Errorf("%s: %v", user, err)
						}
						natsauthtest.ExpectNoViolations(t, c)
					}
				})
			}
		})
	}
}
