package partner_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/events/partner"
)

func TestReceiverRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		cfg         partner.ReceiverConfig
		delivery    delivery
		wantStatus  int
		wantProblem string // problem type after urn:ketenbus:problem:
		wantCalled  bool
	}{
		{name: "structured", wantStatus: 204, wantCalled: true},
		{
			name:       "structured with charset",
			delivery:   delivery{contentType: events.ContentTypeStructured + "; charset=utf-8"},
			wantStatus: 204, wantCalled: true,
		},
		{
			name:       "binary",
			delivery:   delivery{contentType: "application/json", body: `{"categorie":"schulden"}`, header: binaryHeader(nil)},
			wantStatus: 204, wantCalled: true,
		},
		{
			name:       "signed with the old secret during rotation",
			cfg:        partner.ReceiverConfig{Secrets: []string{testSecret, testOldSecret}},
			delivery:   delivery{secret: testOldSecret},
			wantStatus: 204, wantCalled: true,
		},
		{
			name:       "bad signature",
			delivery:   delivery{secret: testOldSecret},
			wantStatus: 401, wantProblem: "invalid-signature",
		},
		{
			name:       "unsigned",
			delivery:   delivery{unsigned: true},
			wantStatus: 401, wantProblem: "invalid-signature",
		},
		{
			name:       "stale timestamp",
			delivery:   delivery{signedAt: time.Now().Add(-10 * time.Minute)},
			wantStatus: 401, wantProblem: "invalid-signature",
		},
		{
			name:       "timestamp in the future",
			delivery:   delivery{signedAt: time.Now().Add(10 * time.Minute)},
			wantStatus: 401, wantProblem: "invalid-signature",
		},
		{
			name:       "shorter tolerance",
			cfg:        partner.ReceiverConfig{Tolerance: time.Minute},
			delivery:   delivery{signedAt: time.Now().Add(-2 * time.Minute)},
			wantStatus: 401, wantProblem: "invalid-signature",
		},
		{
			name:       "right token",
			cfg:        partner.ReceiverConfig{Token: testToken},
			delivery:   delivery{token: testToken},
			wantStatus: 204, wantCalled: true,
		},
		{
			name:       "wrong token",
			cfg:        partner.ReceiverConfig{Token: testToken},
			delivery:   delivery{token: testToken + "x"},
			wantStatus: 401, wantProblem: "unauthorized",
		},
		{
			name:       "missing token",
			cfg:        partner.ReceiverConfig{Token: testToken},
			wantStatus: 401, wantProblem: "unauthorized",
		},
		{
			name:       "basic instead of bearer",
			cfg:        partner.ReceiverConfig{Token: testToken},
			delivery:   delivery{header: map[string]string{"Authorization": "Basic " + testToken}},
			wantStatus: 401, wantProblem: "unauthorized",
		},
		{
			name:       "body too large",
			cfg:        partner.ReceiverConfig{MaxBodyBytes: 64},
			wantStatus: 413, wantProblem: "body-too-large",
		},
		{
			name:       "unsupported content type",
			delivery:   delivery{contentType: "text/plain"},
			wantStatus: 415, wantProblem: "unsupported-media-type",
		},
		{
			name:       "plain JSON without ce headers",
			delivery:   delivery{contentType: "application/json"},
			wantStatus: 415, wantProblem: "unsupported-media-type",
		},
		{
			name:       "batch",
			delivery:   delivery{contentType: events.ContentTypeBatch, body: "[" + structuredEvent("evt-1", 42) + "]"},
			wantStatus: 415, wantProblem: "unsupported-media-type",
		},
		{
			name:       "not JSON",
			delivery:   delivery{body: "{not json"},
			wantStatus: 400, wantProblem: "invalid-event",
		},
		{
			name:       "not a CloudEvent",
			delivery:   delivery{body: `{"specversion":"1.0","id":"evt-1","source":"urn:x"}`},
			wantStatus: 400, wantProblem: "invalid-event",
		},
		{
			// webhook-id is the delivery id, not the event id.
			name:       "webhook-id differs from the event id",
			delivery:   delivery{id: "5009be64d18918ed2680f640d5009642", body: structuredEvent("evt-1", 42)},
			wantStatus: 204, wantCalled: true,
		},
		{
			name:       "binary webhook-id differs from ce-id",
			delivery:   delivery{id: "5009be64d18918ed2680f640d5009642", contentType: "application/json", body: `{"categorie":"schulden"}`, header: binaryHeader(nil)},
			wantStatus: 204, wantCalled: true,
		},
		{
			name:       "GET",
			delivery:   delivery{method: http.MethodGet},
			wantStatus: 405, wantProblem: "method-not-allowed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			url := serve(t, tt.cfg, rec)
			got := send(t, url, tt.delivery)
			if got.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", got.status, tt.wantStatus, got.body)
			}
			if got.problemTyp != tt.wantProblem {
				t.Errorf("problem type %q, want %q", got.problemTyp, tt.wantProblem)
			}
			for _, secret := range []string{testSecret, testOldSecret, testToken} {
				if strings.Contains(got.body, secret) || strings.Contains(got.body, strings.TrimPrefix(secret, "whsec_")) {
					t.Errorf("answer holds a secret: %s", got.body)
				}
			}
			calls := rec.calls()
			if !tt.wantCalled {
				if len(calls) != 0 {
					t.Errorf("handler called %d times, want none", len(calls))
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("handler called %d times, want once", len(calls))
			}
			e := calls[0]
			if e.ID() != "evt-1" || e.Type() != events.TypeSignaal || e.Subject() != testSubject || e.Source() != testSource {
				t.Errorf("event %s", e)
			}
			if seq, ok := partner.Sequence(e); !ok || seq != 42 {
				t.Errorf("Sequence = %d, %v; want 42", seq, ok)
			}
			var data map[string]any
			if err := e.DataAs(&data); err != nil || data["categorie"] != "schulden" {
				t.Errorf("data %v, %v", data, err)
			}
		})
	}
}

func TestReceiverHandlerErrors(t *testing.T) {
	t.Parallel()
	cause := errors.New("client unknown")
	tests := []struct {
		name           string
		err            error
		wantStatus     int
		wantRetryAfter string
		wantProblem    string
		wantDetail     string
	}{
		{name: "nil", err: nil, wantStatus: 204},
		{name: "Retry", err: partner.Retry(cause), wantStatus: 503, wantRetryAfter: "30", wantProblem: "retry"},
		{name: "RetryAfter", err: partner.RetryAfter(cause, 90*time.Second), wantStatus: 503, wantRetryAfter: "90", wantProblem: "retry"},
		{name: "RetryAfter rounds up", err: partner.RetryAfter(nil, 1500*time.Millisecond), wantStatus: 503, wantRetryAfter: "2", wantProblem: "retry"},
		{name: "RetryAfter zero", err: partner.RetryAfter(nil, 0), wantStatus: 503, wantRetryAfter: "30", wantProblem: "retry"},
		{name: "Reject", err: partner.Reject(cause), wantStatus: 400, wantProblem: "rejected", wantDetail: "client unknown"},
		{name: "wrapped Reject", err: fmt.Errorf("signaal: %w", partner.Reject(cause)), wantStatus: 400, wantProblem: "rejected"},
		{name: "bare ErrReject", err: fmt.Errorf("no such client: %w", partner.ErrReject), wantStatus: 400, wantProblem: "rejected"},
		{name: "Gone", err: partner.Gone(nil), wantStatus: 410, wantProblem: "gone"},
		{name: "other error", err: errors.New("database: connection refused"), wantStatus: 500, wantProblem: "handler-failed"},
		{name: "context canceled", err: context.Canceled, wantStatus: 500, wantProblem: "handler-failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{answers: []error{tt.err}}
			got := send(t, serve(t, partner.ReceiverConfig{}, rec), delivery{})
			if got.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", got.status, tt.wantStatus, got.body)
			}
			if ra := got.header.Get("Retry-After"); ra != tt.wantRetryAfter {
				t.Errorf("Retry-After %q, want %q", ra, tt.wantRetryAfter)
			}
			if got.problemTyp != tt.wantProblem {
				t.Errorf("problem type %q, want %q", got.problemTyp, tt.wantProblem)
			}
			if !strings.Contains(got.body, tt.wantDetail) {
				t.Errorf("body %s does not say %q", got.body, tt.wantDetail)
			}
			if tt.wantStatus == 500 && strings.Contains(got.body, "database") {
				t.Errorf("500 answer leaks the handler's error: %s", got.body)
			}
		})
	}
}

func TestReceiverHandlerPanics(t *testing.T) {
	t.Parallel()
	url := serve(t, partner.ReceiverConfig{Handler: func(context.Context, event.Event) error {
		panic("nil map")
	}}, nil)
	if got := send(t, url, delivery{}); got.status != 500 {
		t.Fatalf("status %d, want 500", got.status)
	}
}

func TestReceiverIdempotency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		answers    []error
		wantStatus []int
		wantCalls  int
	}{
		{name: "duplicates", wantStatus: []int{204, 200, 200}, wantCalls: 1},
		{name: "failure is not remembered", answers: []error{errors.New("down")}, wantStatus: []int{500, 204, 200}, wantCalls: 2},
		{name: "retry is not remembered", answers: []error{partner.Retry(nil)}, wantStatus: []int{503, 204, 200}, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{answers: tt.answers}
			url := serve(t, partner.ReceiverConfig{Idempotency: partner.NewMemoryStore(time.Hour, 10)}, rec)
			for i, want := range tt.wantStatus {
				// Each attempt is signed anew, with the same webhook-id.
				if got := send(t, url, delivery{}); got.status != want {
					t.Errorf("attempt %d: status %d, want %d", i+1, got.status, want)
				}
			}
			if n := len(rec.calls()); n != tt.wantCalls {
				t.Errorf("handler called %d times, want %d", n, tt.wantCalls)
			}
			// Another event still gets through.
			if got := send(t, url, delivery{id: "evt-2"}); got.status != 204 {
				t.Errorf("other event: status %d, want 204", got.status)
			}
		})
	}
}

// TestReceiverDeduplicatesOnTheDeliveryID: politie and ggz both send id
// x-1; ketenbus delivers each under its own webhook-id, and the receiver
// handles both. A redelivery of either (its webhook-id) is a duplicate.
func TestReceiverDeduplicatesOnTheDeliveryID(t *testing.T) {
	t.Parallel()
	const ggzSource = "urn:nld:kvknr:99999901:systeem:epd"
	rec := &recorder{}
	url := serve(t, partner.ReceiverConfig{Idempotency: partner.NewMemoryStore(time.Hour, 10)}, rec)
	politie := delivery{
		id:     events.DeliveryID("zvh", "signalen", events.MsgID(testSource, "x-1")),
		body:   structuredEvent("x-1", 41),
		header: map[string]string{partner.HeaderSubscription: "signalen"},
	}
	ggz := delivery{
		id:     events.DeliveryID("zvh", "signalen", events.MsgID(ggzSource, "x-1")),
		body:   strings.Replace(structuredEvent("x-1", 42), testSource, ggzSource, 1),
		header: map[string]string{partner.HeaderSubscription: "signalen"},
	}
	for i, want := range []struct {
		d      delivery
		status int
	}{{politie, 204}, {ggz, 204}, {politie, 200}, {ggz, 200}} {
		if got := send(t, url, want.d); got.status != want.status {
			t.Errorf("request %d: status %d, want %d: %s", i+1, got.status, want.status, got.body)
		}
	}
	calls := rec.calls()
	if len(calls) != 2 || calls[0].Source() != testSource || calls[1].Source() != ggzSource || calls[0].ID() != "x-1" || calls[1].ID() != "x-1" {
		t.Fatalf("handled %d events, want x-1 of politie and of ggz: %v", len(calls), calls)
	}
	ds := rec.allDeliveries()
	if ds[0].ID != politie.id || ds[1].ID != ggz.id || ds[0].Subscription != "signalen" {
		t.Errorf("deliveries %+v", ds)
	}
}

func TestReceiverHandshake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		allowed    []string
		rate       int
		header     map[string]string
		wantStatus int
		wantOrigin string
		wantRate   string
	}{
		{
			name:       "any origin by default",
			header:     map[string]string{partner.HeaderRequestOrigin: "ketenbus.example.nl"},
			wantStatus: 200, wantOrigin: "ketenbus.example.nl", wantRate: "*",
		},
		{
			name:       "listed origin",
			allowed:    []string{"ketenbus.regio-noord.nl", "Ketenbus.Example.NL"},
			header:     map[string]string{partner.HeaderRequestOrigin: "ketenbus.example.nl"},
			wantStatus: 200, wantOrigin: "ketenbus.example.nl", wantRate: "*",
		},
		{
			name:       "star",
			allowed:    []string{"*"},
			header:     map[string]string{partner.HeaderRequestOrigin: "ketenbus.example.nl"},
			wantStatus: 200, wantOrigin: "ketenbus.example.nl", wantRate: "*",
		},
		{
			name:       "refused origin",
			allowed:    []string{"ketenbus.regio-noord.nl"},
			header:     map[string]string{partner.HeaderRequestOrigin: "evil.example.com"},
			wantStatus: 403,
		},
		{
			name:       "rate",
			rate:       120,
			header:     map[string]string{partner.HeaderRequestOrigin: "ketenbus.example.nl", partner.HeaderRequestRate: "600"},
			wantStatus: 200, wantOrigin: "ketenbus.example.nl", wantRate: "120",
		},
		{
			name:       "plain OPTIONS",
			wantStatus: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			url := serve(t, partner.ReceiverConfig{AllowedOrigins: tt.allowed, AllowedRate: tt.rate}, rec)
			got := send(t, url, delivery{method: http.MethodOptions, header: tt.header})
			if got.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", got.status, tt.wantStatus, got.body)
			}
			if o := got.header.Get(partner.HeaderAllowedOrigin); o != tt.wantOrigin {
				t.Errorf("%s %q, want %q", partner.HeaderAllowedOrigin, o, tt.wantOrigin)
			}
			if r := got.header.Get(partner.HeaderAllowedRate); r != tt.wantRate {
				t.Errorf("%s %q, want %q", partner.HeaderAllowedRate, r, tt.wantRate)
			}
			if tt.wantOrigin != "" && got.header.Get("Allow") != "POST" {
				t.Errorf("Allow %q, want POST", got.header.Get("Allow"))
			}
			if len(rec.calls()) != 0 {
				t.Error("handler called for OPTIONS")
			}
		})
	}
}

func TestReceiverDelivery(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	url := serve(t, partner.ReceiverConfig{Token: testToken}, rec)
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	signedAt := time.Now().Truncate(time.Second)
	const id = "5009be64d18918ed2680f640d5009642"
	got := send(t, url, delivery{id: id, body: structuredEvent("evt-1", 42), token: testToken, signedAt: signedAt,
		header: map[string]string{"traceparent": traceparent, partner.HeaderSubscription: "signalen"}})
	if got.status != 204 {
		t.Fatalf("status %d: %s", got.status, got.body)
	}
	d := rec.lastDelivery()
	if d.ID != id || d.Subscription != "signalen" || d.Sequence != 42 || d.TraceParent != traceparent || !d.Timestamp.Equal(signedAt) || d.NumDelivered != 0 {
		t.Errorf("delivery %+v", d)
	}
	if e := rec.calls()[0]; e.ID() != "evt-1" {
		t.Errorf("event id %q, want evt-1", e.ID())
	}
	for _, h := range []string{"Authorization", "Webhook-Signature"} {
		if d.Header.Get(h) != "" {
			t.Errorf("handler sees header %s", h)
		}
	}
	if d.Header.Get("Webhook-Id") != id {
		t.Errorf("handler does not see webhook-id")
	}
}

// The receiver's log records never hold a secret or the token, whatever
// goes wrong, nor a BSN that a publisher put in an event id.
func TestReceiverLogsNoSecrets(t *testing.T) {
	t.Parallel()
	bsn := bsntest.Seeded(3, 1)[0]
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rec := &recorder{answers: []error{partner.Reject(errors.New("bad")), errors.New("down"), partner.Retry(nil)}}
	url := serve(t, partner.ReceiverConfig{Secrets: []string{testSecret, testOldSecret}, Token: testToken, Logger: logger}, rec)
	for _, d := range []delivery{
		{token: "wrong-" + testToken},
		{token: testToken, secret: "whsec_" + strings.Repeat("A", 44)},
		{token: testToken, signedAt: time.Now().Add(-time.Hour)},
		{token: testToken, id: "evt-9"},
		{token: testToken}, {token: testToken}, {token: testToken}, {token: testToken},
		{token: "wrong-" + testToken, id: "evt-" + bsn},
		{token: testToken, id: "evt-" + bsn},
		{token: testToken, id: "evt-" + bsn, body: structuredEvent("other-"+bsn, 42)}, // ids differ: quoted in the detail
	} {
		send(t, url, d)
	}
	mu.Lock()
	logs := buf.String()
	mu.Unlock()
	if !strings.Contains(logs, "delivery refused") || !strings.Contains(logs, "handler rejected") {
		t.Fatalf("expected log records, got:\n%s", logs)
	}
	if !strings.Contains(logs, `"id":"evt-[bsn]"`) {
		t.Errorf("no log record of the event whose id holds a BSN:\n%s", logs)
	}
	for _, secret := range []string{testSecret, strings.TrimPrefix(testSecret, "whsec_"), strings.TrimPrefix(testOldSecret, "whsec_"), testToken, bsn} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs hold a secret:\n%s", logs)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestReceiverConfigValidate(t *testing.T) {
	t.Parallel()
	handler := func(context.Context, event.Event) error { return nil }
	tests := []struct {
		name    string
		cfg     partner.ReceiverConfig
		wantErr []string // each must appear in the error text
	}{
		{name: "minimal", cfg: partner.ReceiverConfig{Secrets: []string{testSecret}, Handler: handler}},
		{name: "empty", cfg: partner.ReceiverConfig{}, wantErr: []string{"ReceiverConfig.Secrets is missing", "ReceiverConfig.Handler is missing"}},
		{
			name:    "bad secret",
			cfg:     partner.ReceiverConfig{Secrets: []string{testSecret, "whsec_short"}, Handler: handler},
			wantErr: []string{"ReceiverConfig.Secrets[1]"},
		},
		{
			name:    "negative numbers",
			cfg:     partner.ReceiverConfig{Secrets: []string{testSecret}, Handler: handler, MaxBodyBytes: -1, Tolerance: -time.Second, AllowedRate: -1},
			wantErr: []string{"ReceiverConfig.MaxBodyBytes", "ReceiverConfig.Tolerance", "ReceiverConfig.AllowedRate"},
		},
		{
			name:    "empty origin",
			cfg:     partner.ReceiverConfig{Secrets: []string{testSecret}, Handler: handler, AllowedOrigins: []string{"a.example", " "}},
			wantErr: []string{"ReceiverConfig.AllowedOrigins[1]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := partner.NewReceiver(tt.cfg)
			checkConfigError(t, err, tt.wantErr)
			if err != nil && (strings.Contains(err.Error(), "MfKQ9r8G") || strings.Contains(err.Error(), "short")) {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}

// TestReceiverBinaryMode: in binary mode the ce-* headers, percent-decoded
// as the CloudEvents HTTP binding encodes them, are the attributes,
// Content-Type is datacontenttype and the body is the data.
func TestReceiverBinaryMode(t *testing.T) {
	t.Parallel()
	const body = `{"categorie":"schulden"}`
	tests := []struct {
		name       string
		id         string // webhook-id; default "evt-1"
		header     map[string]string
		check      func(t *testing.T, e event.Event)
		wantDetail string // a 400 invalid-event saying this; "" for 204
	}{
		{
			name: "every attribute",
			header: binaryHeader(map[string]string{"ce-time": "2026-11-24T09:30:00Z",
				"ce-dataschema": "https://ketenbus.nl/schemas/signaal/v1", "ce-traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}),
			check: func(t *testing.T, e event.Event) {
				if e.SpecVersion() != "1.0" || e.ID() != "evt-1" || e.Source() != testSource || e.Type() != events.TypeSignaal ||
					e.Subject() != testSubject || !e.Time().Equal(time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)) ||
					e.DataSchema() != "https://ketenbus.nl/schemas/signaal/v1" || e.DataContentType() != "application/json" {
					t.Errorf("event %s", e)
				}
				if seq, ok := partner.Sequence(e); !ok || seq != 42 {
					t.Errorf("Sequence = %d, %v; want 42", seq, ok)
				}
				if tp, _ := e.Extensions()["traceparent"].(string); !strings.HasPrefix(tp, "00-0af765") {
					t.Errorf("traceparent %q", tp)
				}
				if string(e.Data()) != body {
					t.Errorf("data %q, want %q", e.Data(), body)
				}
			},
		},
		{
			name: "percent-encoded values",
			id:   `evt 7 "één"`,
			header: binaryHeader(map[string]string{"ce-id": `evt%207%20%22%C3%A9%C3%A9n%22`, "ce-time": "2026-11-24T09:30:00%2B01:00",
				"ce-ontvanger": "wijkteam%2Dnoord"}),
			check: func(t *testing.T, e event.Event) {
				if e.ID() != `evt 7 "één"` || e.Time().UTC().Hour() != 8 || e.Extensions()["ontvanger"] != "wijkteam-noord" {
					t.Errorf("event %s", e)
				}
			},
		},
		{name: "specversion 0.3", header: binaryHeader(map[string]string{"ce-specversion": "0.3"}), wantDetail: "ce-specversion"},
		{name: "time not RFC 3339", header: binaryHeader(map[string]string{"ce-time": "24-11-2026"}), wantDetail: "ce-time"},
		{name: "source not a URI reference", header: binaryHeader(map[string]string{"ce-source": "%3A%2F%2F"}), wantDetail: "ce-source"},
		{name: "id missing", header: binaryHeader(map[string]string{"ce-id": ""}), wantDetail: `"detail":"id: `},
		{name: "type missing", header: binaryHeader(map[string]string{"ce-type": ""}), wantDetail: `"detail":"type: `},
		{name: "extension name not alphanumeric", header: binaryHeader(map[string]string{"ce-trace_id": "x"}), wantDetail: "ce-trace_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			got := send(t, serve(t, partner.ReceiverConfig{}, rec),
				delivery{id: tt.id, contentType: "application/json", body: body, header: tt.header})
			calls := rec.calls()
			if tt.wantDetail != "" {
				if got.status != 400 || got.problemTyp != "invalid-event" || !strings.Contains(got.body, tt.wantDetail) {
					t.Errorf("status %d, problem %q, body %s; want 400 invalid-event naming %q", got.status, got.problemTyp, got.body, tt.wantDetail)
				}
				if len(calls) != 0 {
					t.Errorf("handler called %d times, want none", len(calls))
				}
				return
			}
			if got.status != 204 {
				t.Fatalf("status %d: %s", got.status, got.body)
			}
			if len(calls) != 1 {
				t.Fatalf("handler called %d times, want once", len(calls))
			}
			tt.check(t, calls[0])
		})
	}
}

// TestReceiverBinaryModeQuotesNoValue: a refused ce- header is named in
// the answer, never its value, which may carry a BSN.
func TestReceiverBinaryModeQuotesNoValue(t *testing.T) {
	t.Parallel()
	const bsn = "999993653"
	for _, h := range []map[string]string{
		{"ce-specversion": bsn},
		{"ce-source": "http%3A%2F%2F%5B" + bsn},
		{"ce-dataschema": "http%3A%2F%2F%5B" + bsn},
		{"ce-time": bsn},
	} {
		got := send(t, serve(t, partner.ReceiverConfig{}, &recorder{}),
			delivery{contentType: "application/json", body: `{"categorie":"schulden"}`, header: binaryHeader(h)})
		if got.status != 400 || strings.Contains(got.body, bsn) {
			t.Errorf("%v: status %d, body %s; want 400 without the value", h, got.status, got.body)
		}
	}
}
