package natsauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/monitor/monitortest"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/dlq"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natsauthtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// TestMonitorRunsUnderItsUser: the monitor, connected as its own user,
// reads every page while the webhook partner's deliveries fail into the
// DLQ, and retries them from the partner page; the server refuses it
// nothing. It may not touch the services' durables on EVENTS.
func TestMonitorRunsUnderItsUser(t *testing.T) {
	t.Parallel()
	c := startCore(t, "", 50*time.Millisecond)
	c.hook.Status.Store(http.StatusBadRequest)

	mc := c.client(t, natsauth.UserMonitor)
	base := monitortest.Serve(t, monitor.Config{Region: c.cfg, JetStream: mc.JS, Logger: c.log("monitor"), Auth: monitor.Auth{Open: true}})
	get := func(path string) string {
		t.Helper()
		code, body := e2etest.Get(t, base+path, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		return body
	}

	signaal := map[string]any{"bsn": bsn, "categorie": "schulden", "urgentie": "midden", "contactpersoon": map[string]any{"naam": "J. Jansen"}}
	c.post(t, partnerA, "signaal-a", events.TypeSignaal, signaal)
	c.post(t, partnerB, "signaal-b", events.TypeSignaal, signaal)
	runtest.Eventually(t, 15*time.Second, "the two dead letters on the partner page", func() bool {
		return strings.Contains(get("/partners/"+webhookOne), `<tr data-dlq-seq="2">`)
	})
	for _, path := range []string{"/", "/fragment/overzicht", "/live", "/termijnen", "/partners/" + partnerA, "/partners/" + partnerB} {
		get(path)
	}

	c.hook.Status.Store(http.StatusNoContent)
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
	runtest.Eventually(t, 10*time.Second, "2 retried deliveries at the webhook", func() bool { return len(c.hook.Delivered()) >= 2 })
	// The newest letter of a long DLQ, which the partner page finds by
	// counting from consumers of its own on the DLQ.
	admin := c.srv.Connect(t, natsauth.UserAdmin)
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
