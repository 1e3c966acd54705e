package natsauth_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natsauthtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// TestMonitorRunsUnderItsUser: the monitor, connected as its own user,
// reads every page while the webhook partner's deliveries fail into the
// DLQ, and retries them from the partner page; the server refuses it
// nothing. It may not touch the services' durables on EVENTS.
func TestMonitorRunsUnderItsUser(t *testing.T) {
	t.Parallel()
	cfg := natsauthtest.LoadRegion(t, testRegion)
	var status atomic.Int32
	status.Store(http.StatusBadRequest)
	var delivered atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := int(status.Load())
		if code < 300 {
			delivered.Add(1)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(hook.Close)
	p, _ := cfg.Partner(webhookOne)
	p.Delivery.Webhook.URL = hook.URL + "/" + webhookOne
	p.Delivery.Webhook.RetrySchedule = []time.Duration{50 * time.Millisecond}
	secrets, _, err := cfg.ResolveSecrets(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s := natsauthtest.Start(t, cfg)
	logger, logs := logtest.New()

	gw, err := gateway.New(gateway.Config{Region: cfg, Secrets: secrets, JetStream: s.Connect(t, natsauth.UserGateway).JS, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	gwSrv := httptest.NewServer(gw)
	t.Cleanup(gwSrv.Close)
	rt, err := router.New(router.Config{Region: cfg, JetStream: s.Connect(t, natsauth.UserRouter).JS, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	runtest.Start(t, "router", rt.Run)
	ad, err := adapter.New(adapter.Config{Region: cfg, Secrets: secrets, JetStream: s.Connect(t, natsauth.UserAdapter).JS, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	runtest.Start(t, "adapter", ad.Run)

	mc := s.Connect(t, natsauth.UserMonitor)
	mon, err := monitor.New(monitor.Config{Region: cfg, JetStream: mc.JS, Logger: logger, Auth: monitor.Auth{Open: true}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runtest.Start(t, "monitor", func(ctx context.Context) error { return mon.Serve(ctx, ln) })
	base := "http://" + ln.Addr().String()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(b)
	}

	signaal := map[string]any{"bsn": bsn, "categorie": "schulden", "urgentie": "midden", "contactpersoon": map[string]any{"naam": "J. Jansen"}}
	post(t, gwSrv.URL, secrets.Tokens[partnerA], event("signaal-a", partnerA, events.TypeSignaal, signaal))
	post(t, gwSrv.URL, secrets.Tokens[partnerB], event("signaal-b", partnerB, events.TypeSignaal, signaal))
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(get("/partners/"+webhookOne), `<tr data-dlq-seq="2">`); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the two dead letters never showed on the partner page; refused: %q\n%s", mc.Violations(), problems(logs.String()))
		}
	}
	for _, path := range []string{"/", "/fragment/overzicht", "/live", "/termijnen", "/partners/" + partnerA, "/partners/" + partnerB} {
		get(path)
	}

	status.Store(http.StatusNoContent)
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get("/partners/" + webhookOne + "/dlq/retry"))
	if csrf == nil {
		t.Fatal("no confirmation form")
	}
	resp, err := http.PostForm(base+"/partners/"+webhookOne+"/dlq/retry", url.Values{"csrf": {csrf[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.String(), "?opnieuw=2") {
		t.Fatalf("retry: %d at %s, want the partner page saying 2 were retried; refused: %q", resp.StatusCode, resp.Request.URL, mc.Violations())
	}
	for deadline := time.Now().Add(10 * time.Second); delivered.Load() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the webhook received %d retried deliveries, want 2", delivered.Load())
		}
	}
	// The newest letter of a long DLQ, which the partner page finds by
	// counting from consumers of its own on the DLQ.
	admin := s.Connect(t, natsauth.UserAdmin)
	ctx := context.Background()
	for i := range 120 {
		if _, err := admin.JS.Publish(ctx, events.DLQSubject(webhookOne), fmt.Appendf(nil, `{"specversion":"1.0","id":"lang-%d"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	store, err := dlq.Open(ctx, mc.JS)
	if err != nil {
		t.Fatal(err)
	}
	if newest, _, err := store.Newest(ctx, webhookOne, 1, 0); err != nil || len(newest) != 1 {
		t.Fatalf("the monitor's newest dead letter of 120: %v, %v", newest, err)
	} else if id, _ := newest[0].Event(); id != "lang-119" {
		t.Errorf("the monitor's newest dead letter is %s, want lang-119", id)
	}
	time.Sleep(200 * time.Millisecond) // a late refusal would show now
	natsauthtest.ExpectNoViolations(t, mc)

	// Its consumers are its own: the services' durables are not.
	for _, durable := range []string{bus.ConsumerRouter, bus.ConsumerEscalator, bus.ConsumerSamenloop} {
		subject := "$JS.API.CONSUMER.CREATE." + events.StreamEvents + "." + durable + "." + events.SubjectEventsAll
		natsauthtest.ExpectPublishDenied(t, mc, subject, func(ctx context.Context) error {
			_, err := mc.JS.CreateOrUpdateConsumer(ctx, events.StreamEvents, jetstream.ConsumerConfig{
				Durable: durable, FilterSubject: events.SubjectEventsAll, AckPolicy: jetstream.AckExplicitPolicy})
			return err
		})
	}
}
