package adapter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events/webhook"
	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestDeliversStructured(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.addSink(t, "alpha", region.Webhook{TokenEnv: "KETENBUS_WEBHOOK_TOKEN_ALPHA"}, nil)
	f.secrets.WebhookTokens["alpha"] = "alpha-token-0123456789abcdef"
	reg, _ := f.run(t, nil)

	p := f.publish(t, "alpha", "signalen", withExtension("traceparent", traceparent))
	got := s.posts(t, 1, 5*time.Second)[0]

	if got.verifyErr != nil {
		t.Errorf("signature: %v", got.verifyErr)
	}
	checks := map[string]string{
		webhook.HeaderID: p.msgID, // the delivery id, not the event id
		"Content-Type":   "application/cloudevents+json",
		"Authorization":  "Bearer alpha-token-0123456789abcdef",
		"Traceparent":    traceparent,
		"User-Agent":     "ketenbus",
	}
	for h, want := range checks {
		if v := got.header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	if !bytes.Equal(got.body, p.body) {
		t.Errorf("body is not the delivery body:\n got %s\nwant %s", got.body, p.body)
	}
	ts, _ := strconv.ParseInt(got.header.Get(webhook.HeaderTimestamp), 10, 64)
	if d := time.Since(time.Unix(ts, 0)); d < -time.Second || d > 5*time.Second {
		t.Errorf("webhook-timestamp %d is %s off", ts, d)
	}

	time.Sleep(200 * time.Millisecond)
	if n := len(s.requests(http.MethodPost)); n != 1 {
		t.Errorf("sink received %d POSTs, want 1", n)
	}
	if n := len(f.env.Messages(t, "DLQ")); n != 0 {
		t.Errorf("DLQ holds %d messages, want 0", n)
	}
	runtest.Eventually(t, time.Second, "delivered counted", func() bool { return outcome(t, reg, "alpha", "delivered") == 1 })
}

func TestDeliversBinary(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var parsed *cloudevents.Event
	var parseErr error
	s := f.addSink(t, "beta", region.Webhook{Mode: region.ModeBinary}, statuses(http.StatusOK))
	f.run(t, nil)

	subject := `pseudoniem a"b%é`
	p := f.publish(t, "beta", "signalen", withSubject(subject), withExtension("traceparent", traceparent))
	got := s.posts(t, 1, 5*time.Second)[0]

	if got.verifyErr != nil {
		t.Errorf("signature: %v", got.verifyErr)
	}
	if v := got.header.Get("Content-Type"); v != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", v)
	}
	if v := got.header.Get("ce-subject"); v != "pseudoniem%20a%22b%25%C3%A9" {
		t.Errorf("ce-subject = %q, not percent-encoded", v)
	}
	if v := got.header.Get(webhook.HeaderID); v != p.msgID {
		t.Errorf("webhook-id = %q, want the delivery id %q", v, p.msgID)
	}
	var want, data map[string]any
	_ = json.Unmarshal(p.body, &want)
	if err := json.Unmarshal(got.body, &data); err != nil {
		t.Fatalf("body is not the JSON data: %v", err)
	}
	if fmt.Sprint(data) != fmt.Sprint(want["data"]) {
		t.Errorf("body = %v, want the data %v", data, want["data"])
	}

	// The CloudEvents SDK reads the request back into the same event.
	req, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(got.body))
	req.Header = got.header
	parsed, parseErr = cloudevents.NewEventFromHTTPRequest(req)
	if parseErr != nil {
		t.Fatalf("CloudEvents SDK: %v", parseErr)
	}
	// The SDK does not percent-decode header values; a receiver must.
	gotSubject, _ := url.PathUnescape(parsed.Subject())
	if parsed.ID() != p.id || gotSubject != subject || parsed.Type() != "nl.sociaaldomein.signaal.v1" {
		t.Errorf("parsed event id=%q subject=%q type=%q", parsed.ID(), gotSubject, parsed.Type())
	}
	if seq, ok := parsed.Extensions()["sequence"]; !ok || fmt.Sprint(seq) != "1" {
		t.Errorf("sequence extension = %v, want 1", seq)
	}
}

func TestRetriesServerErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.addSink(t, "alpha", region.Webhook{}, func(w http.ResponseWriter, r *http.Request, n int) {
		if n <= 2 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	reg, _ := f.run(t, nil)

	p := f.publish(t, "alpha", "signalen")
	posts := s.posts(t, 3, 5*time.Second)
	for i, r := range posts {
		if r.header.Get(webhook.HeaderID) != p.msgID {
			t.Errorf("attempt %d: webhook-id %q, want the delivery id %q", i+1, r.header.Get(webhook.HeaderID), p.msgID)
		}
		if r.verifyErr != nil {
			t.Errorf("attempt %d: signature: %v", i+1, r.verifyErr)
		}
	}
	for i, min := range shortSchedule[:2] {
		if gap := posts[i+1].at.Sub(posts[i].at); gap < min {
			t.Errorf("retry %d came after %s, want at least %s", i+1, gap, min)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(s.requests(http.MethodPost)); n != 3 {
		t.Errorf("sink received %d POSTs, want 3", n)
	}
	if n := len(f.env.Messages(t, "DLQ")); n != 0 {
		t.Errorf("DLQ holds %d messages, want 0", n)
	}
	if r, d := outcome(t, reg, "alpha", "retry"), outcome(t, reg, "alpha", "delivered"); r != 2 || d != 1 {
		t.Errorf("retry=%v delivered=%v, want 2 and 1", r, d)
	}
}

func TestHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := f.addSink(t, "alpha", region.Webhook{}, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(status)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})
			f.run(t, nil)

			f.publish(t, "alpha", "signalen")
			posts := s.posts(t, 2, 5*time.Second)
			if gap := posts[1].at.Sub(posts[0].at); gap < time.Second {
				t.Errorf("retry came after %s, want at least the Retry-After of 1s", gap)
			}
		})
	}
}

func TestClientErrorsGoToDLQAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	statuses := []int{400, 401, 403, 404, 413, 415, 422}
	sinks := map[string]*sink{}
	for _, status := range statuses {
		id := fmt.Sprintf("p%d", status)
		s := f.addSink(t, id, region.Webhook{}, func(w http.ResponseWriter, r *http.Request, _ int) {
			// A careless endpoint echoes what it received.
			body, _ := json.Marshal(map[string]any{"error": "rejected", "received": string(sinkBody(r))})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(body)
		})
		sinks[id] = s
	}
	f.run(t, nil)

	sent := map[string]published{}
	for id := range sinks {
		sent[id] = f.publish(t, id, "signalen")
	}
	msgs := f.dlq(t, len(statuses), 5*time.Second)
	time.Sleep(300 * time.Millisecond) // room for a retry that must not come

	byMsgID := map[string]*jetstream.RawStreamMsg{}
	for _, m := range msgs {
		byMsgID[m.Header.Get(jetstream.MsgIDHeader)] = m
	}
	for _, status := range statuses {
		id := fmt.Sprintf("p%d", status)
		t.Run(id, func(t *testing.T) {
			if n := len(sinks[id].requests(http.MethodPost)); n != 1 {
				t.Errorf("sink received %d POSTs, want 1", n)
			}
			p := sent[id]
			m := byMsgID[p.msgID]
			if m == nil {
				t.Fatalf("no dead letter with Nats-Msg-Id %s", p.msgID)
			}
			if m.Subject != "ketenbus.dlq."+id {
				t.Errorf("subject %s", m.Subject)
			}
			if !bytes.Equal(m.Data, p.body) {
				t.Errorf("dead letter body is not the delivery body")
			}
			want := map[string]string{
				bus.HeaderDLQReason:    fmt.Sprintf("http %d", status),
				bus.HeaderDLQStatus:    strconv.Itoa(status),
				bus.HeaderDLQAttempts:  "1",
				bus.HeaderPartner:      id,
				bus.HeaderSubscription: "signalen",
				bus.HeaderEventSequence: func() string {
					return m.Header.Get(bus.HeaderEventSequence) // kept; any value
				}(),
			}
			for h, v := range want {
				if got := m.Header.Get(h); got != v || got == "" {
					t.Errorf("header %s = %q, want %q", h, got, v)
				}
			}
			excerpt := m.Header.Get(bus.HeaderDLQBody)
			if !strings.Contains(excerpt, "rejected") || !strings.Contains(excerpt, "[bsn]") {
				t.Errorf("body excerpt %q lacks the response or the redaction", excerpt)
			}
			if strings.Contains(excerpt, p.bsn) {
				t.Errorf("body excerpt holds the BSN")
			}
			if len(excerpt) > 512 {
				t.Errorf("body excerpt is %d bytes, want at most 512", len(excerpt))
			}
			first, err1 := time.Parse(time.RFC3339Nano, m.Header.Get(bus.HeaderDLQFirstAttempt))
			last, err2 := time.Parse(time.RFC3339Nano, m.Header.Get(bus.HeaderDLQLastAttempt))
			if err1 != nil || err2 != nil || last.Before(first) {
				t.Errorf("first %q last %q", m.Header.Get(bus.HeaderDLQFirstAttempt), m.Header.Get(bus.HeaderDLQLastAttempt))
			}
		})
	}
}

func TestGoneRetiresSubscription(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.addSink(t, "alpha", region.Webhook{}, statuses(http.StatusGone, http.StatusNoContent))
	reg, stop := f.run(t, nil)

	gone := f.publish(t, "alpha", "signalen")
	f.dlq(t, 1, 5*time.Second)

	ctx := context.Background()
	kv, err := f.env.JS.KeyValue(ctx, bus.RetiredBucket)
	if err != nil {
		t.Fatalf("bucket %s: %v", bus.RetiredBucket, err)
	}
	e, err := kv.Get(ctx, bus.RetiredKey("alpha", "signalen"))
	if err != nil {
		t.Fatalf("retirement not recorded: %v", err)
	}
	var r streams.Retirement
	if err := json.Unmarshal(e.Value(), &r); err != nil || r.Status != http.StatusGone || r.RetiredAt.IsZero() || r.Reason == "" {
		t.Errorf("retirement record %s (%v)", e.Value(), err)
	}

	later := []published{f.publish(t, "alpha", "signalen"), f.publish(t, "alpha", "signalen")}
	other := f.publish(t, "alpha", "andere")
	s.posts(t, 2, 5*time.Second)
	msgs := f.dlq(t, 3, 5*time.Second)
	time.Sleep(200 * time.Millisecond)

	posts := s.requests(http.MethodPost)
	if len(posts) != 2 || posts[0].header.Get(webhook.HeaderID) != gone.msgID || posts[1].header.Get(webhook.HeaderID) != other.msgID {
		t.Errorf("sink received %d POSTs; want the 410 one and the other subscription's only", len(posts))
	}
	wantDLQ := map[string]bool{gone.msgID: true, later[0].msgID: true, later[1].msgID: true}
	for _, m := range msgs {
		if !wantDLQ[m.Header.Get(jetstream.MsgIDHeader)] {
			t.Errorf("unexpected dead letter %s", m.Header.Get(jetstream.MsgIDHeader))
		}
		if m.Header.Get(bus.HeaderDLQReason) != "subscription retired (410)" || m.Header.Get(bus.HeaderDLQStatus) != "410" {
			t.Errorf("dead letter reason %q status %q", m.Header.Get(bus.HeaderDLQReason), m.Header.Get(bus.HeaderDLQStatus))
		}
	}
	if v := metrictest.Value(t, reg, "ketenbus_adapter_subscriptions_retired_total", map[string]string{"partner": "alpha", "subscription": "signalen"}); v != 1 {
		t.Errorf("retired metric = %v, want 1", v)
	}
	// The counter moves just after each dead letter is stored.
	runtest.Eventually(t, 5*time.Second, "3 retired outcomes counted", func() bool { return outcome(t, reg, "alpha", "retired") == 3 })
	if !strings.Contains(f.logs.String(), `"level":"ERROR","msg":"subscription retired`) {
		t.Errorf("no Error-level alert for the retirement in the log:\n%s", f.logs.String())
	}

	// A restarted adapter reads the retirement from the bucket.
	stop()
	f.run(t, nil)
	f.publish(t, "alpha", "signalen")
	f.dlq(t, 4, 5*time.Second)
	if n := len(s.requests(http.MethodPost)); n != 2 {
		t.Errorf("after the restart the sink received %d POSTs, want still 2", n)
	}

	// Deleting the key resumes delivery.
	if err := kv.Delete(ctx, bus.RetiredKey("alpha", "signalen")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	resumed := f.publish(t, "alpha", "signalen")
	posts = s.posts(t, 3, 5*time.Second)
	if posts[2].header.Get(webhook.HeaderID) != resumed.msgID {
		t.Errorf("delivery not resumed after the key was deleted")
	}
}

func TestSinkDownWholeSchedule(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	down := f.addSink(t, "alpha", region.Webhook{}, nil)
	down.srv.Close() // nothing listens: connection refused
	reg, _ := f.run(t, nil)

	p := f.publish(t, "alpha", "signalen")
	m := f.dlq(t, 1, 5*time.Second)[0]

	if got := m.Header.Get(bus.HeaderDLQReason); got != "retry schedule exhausted: connection refused" {
		t.Errorf("reason %q", got)
	}
	if got := m.Header.Get(bus.HeaderDLQAttempts); got != strconv.Itoa(len(shortSchedule)+1) {
		t.Errorf("attempts %q, want %d", got, len(shortSchedule)+1)
	}
	if got := m.Header.Get(bus.HeaderDLQStatus); got != "" {
		t.Errorf("status %q, want none (no response)", got)
	}
	if m.Header.Get(jetstream.MsgIDHeader) != p.msgID || !bytes.Equal(m.Data, p.body) {
		t.Errorf("dead letter is not the delivery")
	}
	first, _ := time.Parse(time.RFC3339Nano, m.Header.Get(bus.HeaderDLQFirstAttempt))
	last, _ := time.Parse(time.RFC3339Nano, m.Header.Get(bus.HeaderDLQLastAttempt))
	var total time.Duration
	for _, d := range shortSchedule {
		total += d
	}
	if last.Sub(first) < total {
		t.Errorf("dead-lettered %s after the first attempt, before the schedule's %s", last.Sub(first), total)
	}
	// The counters move just after the dead letter is stored.
	runtest.Eventually(t, 5*time.Second, "retry=3 and dlq=1 counted", func() bool {
		return outcome(t, reg, "alpha", "retry") == 3 && outcome(t, reg, "alpha", "dlq") == 1
	})
}

func TestHangingPartnerDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	release := make(chan struct{})
	slow := f.addSink(t, "slow", region.Webhook{Timeout: 3 * time.Second}, func(w http.ResponseWriter, r *http.Request, _ int) {
		select { // never answers
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	fast := f.addSink(t, "fast", region.Webhook{}, nil)
	f.run(t, nil)

	const n = 50
	for range n {
		f.publish(t, "slow", "signalen")
	}
	start := time.Now()
	want := map[string]bool{}
	for range n {
		want[f.publish(t, "fast", "signalen").msgID] = true
	}
	posts := fast.posts(t, n, 3*time.Second)
	took := time.Since(start)
	for _, r := range posts {
		delete(want, r.header.Get(webhook.HeaderID))
	}
	if len(want) != 0 {
		t.Errorf("%d events did not reach the working partner", len(want))
	}
	if len(slow.requests(http.MethodPost)) == 0 {
		t.Errorf("the hanging partner was never called")
	}
	t.Logf("%d events reached the working partner in %s while the other hung", n, took)
}

func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var healthy atomic.Bool
	s := f.addSink(t, "alpha", region.Webhook{
		RetrySchedule: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
			800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond},
	}, func(w http.ResponseWriter, r *http.Request, _ int) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	reg, _ := f.run(t, func(c *adapter.Config) {
		c.Breaker = adapter.BreakerConfig{Failures: 2, Cooldown: 300 * time.Millisecond}
	})
	open := func() float64 {
		return metrictest.Value(t, reg, "ketenbus_adapter_circuit_open", map[string]string{"partner": "alpha"})
	}

	const n = 5
	start := time.Now()
	for range n {
		f.publish(t, "alpha", "signalen")
	}
	runtest.Eventually(t, 5*time.Second, "an open circuit", func() bool { return open() == 1 })
	time.Sleep(time.Until(start.Add(time.Second)))
	// Without the breaker each delivery would be tried every 50ms, some 60
	// requests in this second; with it, the first failures and about one
	// probe per cooldown.
	if failing := len(s.requests(http.MethodPost)); failing > n+5 {
		t.Errorf("the failing endpoint received %d requests in 1s; the breaker should hold them back", failing)
	}

	healthy.Store(true)
	runtest.Eventually(t, 15*time.Second, "every delivery after recovery", func() bool { return outcome(t, reg, "alpha", "delivered") == n })
	if open() != 0 {
		t.Errorf("circuit still open after the endpoint recovered")
	}
	if n := len(f.env.Messages(t, "DLQ")); n != 0 {
		t.Errorf("DLQ holds %d messages, want 0", n)
	}
	if !strings.Contains(f.logs.String(), "circuit breaker open") {
		t.Errorf("opening the breaker was not logged")
	}
}

// A delivery the open breaker keeps holding back goes to the DLQ once the
// schedule's count and time have passed, even though it reached the
// endpoint fewer times.
func TestBreakerHeldDeliveriesExhaustSchedule(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := f.addSink(t, "alpha", region.Webhook{RetrySchedule: []time.Duration{50 * time.Millisecond}}, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	f.run(t, func(c *adapter.Config) {
		c.Breaker = adapter.BreakerConfig{Failures: 1, Cooldown: time.Minute}
		c.MaxAckPending = 1 // one at a time: the first failure opens the breaker for the second
	})

	f.publish(t, "alpha", "signalen")
	f.publish(t, "alpha", "signalen")
	msgs := f.dlq(t, 2, 5*time.Second)
	if n := len(s.requests(http.MethodPost)); n != 1 {
		t.Errorf("endpoint received %d requests, want 1 (then the breaker opened)", n)
	}
	for _, m := range msgs {
		if got := m.Header.Get(bus.HeaderDLQReason); got != "retry schedule exhausted: circuit open after http 500" {
			t.Errorf("reason %q", got)
		}
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		allow   func(n int, origin string) string // WebHook-Allowed-Origin for the n-th OPTIONS
		deliver bool
	}{
		{"allows", func(_ int, origin string) string { return origin }, true},
		{"allows any origin", func(int, string) string { return "*" }, true},
		{"allows after refusing twice", func(n int, origin string) string {
			if n <= 2 {
				return ""
			}
			return origin
		}, true},
		{"refuses", func(int, string) string { return "" }, false},
		{"allows another origin", func(int, string) string { return "ketenbus.elders" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := f.addSink(t, "alpha", region.Webhook{Handshake: true}, nil)
			var options atomic.Int32
			s.options = func(w http.ResponseWriter, r *http.Request) {
				n := int(options.Add(1))
				if allowed := tt.allow(n, r.Header.Get("WebHook-Request-Origin")); allowed != "" {
					w.Header().Set("WebHook-Allowed-Origin", allowed)
					w.WriteHeader(http.StatusOK)
					return
				}
				w.WriteHeader(http.StatusForbidden)
			}
			reg, _ := f.run(t, func(c *adapter.Config) { c.HandshakeRetry = 50 * time.Millisecond })

			for range 3 {
				f.publish(t, "alpha", "signalen")
			}
			if tt.deliver {
				s.posts(t, 3, 5*time.Second)
				opts := s.requests(http.MethodOptions)
				if len(opts) == 0 || opts[0].header.Get("WebHook-Request-Origin") != "ketenbus.test" {
					t.Errorf("no OPTIONS with WebHook-Request-Origin ketenbus.test before the deliveries")
				}
				return
			}
			runtest.Eventually(t, 15*time.Second, "handshake retries", func() bool { return len(s.requests(http.MethodOptions)) >= 3 })
			if n := len(s.requests(http.MethodPost)); n != 0 {
				t.Errorf("sink received %d POSTs without an accepted handshake", n)
			}
			if v := metrictest.Value(t, reg, "ketenbus_adapter_handshake_pending", map[string]string{"partner": "alpha"}); v != 1 {
				t.Errorf("handshake_pending = %v, want 1", v)
			}
			if !strings.Contains(f.logs.String(), `"level":"ERROR","msg":"webhook handshake refused`) {
				t.Errorf("refusal not logged as an Error")
			}
		})
	}
}

// Logs name partner, subscription, status and reason, and nothing of the
// data, the response bodies, the token or the secret.
func TestLogsHoldNoPersonalData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const token = "alpha-token-do-not-log-0123456789"
	f.secrets.WebhookTokens["alpha"] = token
	echo := func(r *http.Request) string {
		return "echo-7f3a " + string(sinkBody(r)) + " with " + r.Header.Get("Authorization")
	}
	f.addSink(t, "alpha", region.Webhook{TokenEnv: "KETENBUS_WEBHOOK_TOKEN_ALPHA"},
		answers(echo, http.StatusInternalServerError, http.StatusBadRequest, http.StatusNoContent, http.StatusGone))
	secret := f.secrets.WebhookSecrets["alpha"]
	f.run(t, func(c *adapter.Config) { c.MaxAckPending = 1 })

	p := f.publish(t, "alpha", "signalen") // 500, then 400
	f.publish(t, "alpha", "signalen")      // 204
	f.publish(t, "alpha", "signalen")      // 410
	f.publish(t, "alpha", "signalen")      // retired
	msgs := f.dlq(t, 3, 5*time.Second)

	logs := f.logs.String()
	if !strings.Contains(logs, `"partner":"alpha"`) {
		t.Fatalf("the log holds no partner lines:\n%s", logs)
	}
	forbidden := map[string]string{
		"BSN":           p.bsn,
		"name":          "Jansen-Geheim",
		"data field":    "schulden",
		"token":         token,
		"secret":        strings.TrimPrefix(secret, "whsec_"),
		"response body": "echo-7f3a",
	}
	for what, s := range forbidden {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds the %s", what)
		}
	}
	for _, m := range msgs {
		if ex := m.Header.Get(bus.HeaderDLQBody); strings.Contains(ex, p.bsn) {
			t.Errorf("a dead letter's body excerpt holds the BSN")
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	reg := &region.Config{Region: "test", Partners: []region.Partner{
		{ID: "alpha", Delivery: region.Delivery{Webhook: &region.Webhook{URL: "https://alpha.example/hook", TokenEnv: "T"}}},
		{ID: "natsy", Delivery: region.Delivery{NATS: &region.NATSDelivery{}}},
	}}
	_, err := adapter.New(adapter.Config{Region: reg, Partners: []string{"alpha", "natsy", "nobody"}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"JetStream is missing",
		"partner natsy has no delivery.webhook",
		"partner nobody is not in the region",
		"partner alpha: delivery.webhook.secret_env has no secret",
		"partner alpha: delivery.webhook.token_env has no token",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
