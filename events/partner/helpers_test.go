package partner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/events/webhook"
)

const (
	testSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	testOldSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	testToken     = "tkn-3b1f9c0e7a5d4e2f"
	testSource    = "urn:nld:oin:00000009999999990001:systeem:bvh"
	testSubject   = "c38bb4ee1ad9"
)

// structuredEvent returns a delivered signaal in structured mode, its data
// reduced to one field, as ketenbus sends it.
func structuredEvent(id string, sequence uint64) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":%q,"type":%q,"subject":%q,`+
		`"datacontenttype":"application/json","sequence":"%d","data":{"categorie":"schulden"}}`,
		id, testSource, events.TypeSignaal, testSubject, sequence)
}

// binaryHeader returns the ce- headers of the event of structuredEvent("evt-1",
// 42) in binary mode, changed by change (a value "" deletes the header).
func binaryHeader(change map[string]string) map[string]string {
	h := map[string]string{
		"ce-specversion": "1.0",
		"ce-id":          "evt-1",
		"ce-source":      testSource,
		"ce-type":        events.TypeSignaal,
		"ce-subject":     testSubject,
		"ce-sequence":    "42",
	}
	for k, v := range change {
		if v == "" {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	return h
}

// delivery describes one request as ketenbus (or an impostor) sends it.
// Zero fields take the values of a correct structured delivery.
type delivery struct {
	method      string
	contentType string
	body        string
	header      map[string]string
	id          string    // webhook-id; default "evt-1"
	secret      string    // signing secret; default testSecret
	signedAt    time.Time // default now
	unsigned    bool
	token       string
}

func (d delivery) request(t *testing.T, url string) *http.Request {
	t.Helper()
	if d.method == "" {
		d.method = http.MethodPost
	}
	if d.id == "" {
		d.id = "evt-1"
	}
	if d.body == "" && d.method == http.MethodPost {
		d.body = structuredEvent(d.id, 42)
	}
	if d.contentType == "" && d.method == http.MethodPost {
		d.contentType = events.ContentTypeStructured
	}
	if d.secret == "" {
		d.secret = testSecret
	}
	if d.signedAt.IsZero() {
		d.signedAt = time.Now()
	}
	req, err := http.NewRequestWithContext(t.Context(), d.method, url, strings.NewReader(d.body))
	if err != nil {
		t.Fatal(err)
	}
	if d.contentType != "" {
		req.Header.Set("Content-Type", d.contentType)
	}
	for k, v := range d.header {
		req.Header.Set(k, v)
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	if !d.unsigned && d.method == http.MethodPost {
		signer, err := webhook.NewSigner(d.secret)
		if err != nil {
			t.Fatal(err)
		}
		signer.SetHeaders(req.Header, d.id, d.signedAt, []byte(d.body))
	}
	return req
}

// response is what a test looks at in an answer.
type response struct {
	status     int
	header     http.Header
	body       string
	problemTyp string
}

func send(t *testing.T, url string, d delivery) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(d.request(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if resp.Header.Get("Content-Type") == partner.ContentTypeProblem {
		var p struct {
			Type   string `json:"type"`
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("problem body %q: %v", b, err)
		}
		if p.Status != resp.StatusCode {
			t.Errorf("problem status %d, response status %d", p.Status, resp.StatusCode)
		}
		if p.Detail == "" {
			t.Errorf("problem without detail: %s", b)
		}
		r.problemTyp = strings.TrimPrefix(p.Type, "urn:ketenbus:problem:")
	}
	return r
}

// recorder is a handler that remembers what it was called with and
// answers with the errors it is given, one per call, then nil.
type recorder struct {
	mu         sync.Mutex
	events     []event.Event
	deliveries []partner.Delivery
	times      []time.Time
	answers    []error
}

func (r *recorder) handle(ctx context.Context, e event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	d, _ := partner.DeliveryFromContext(ctx)
	r.deliveries = append(r.deliveries, d)
	r.times = append(r.times, time.Now())
	if len(r.answers) == 0 {
		return nil
	}
	err := r.answers[0]
	r.answers = r.answers[1:]
	return err
}

func (r *recorder) calls() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.events...)
}

func (r *recorder) callTimes() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.times...)
}

func (r *recorder) allDeliveries() []partner.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]partner.Delivery(nil), r.deliveries...)
}

func (r *recorder) lastDelivery() partner.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.deliveries) == 0 {
		return partner.Delivery{}
	}
	return r.deliveries[len(r.deliveries)-1]
}

// serve starts a Receiver for cfg, with rec as its handler when cfg has
// none, behind a real HTTP server.
func serve(t *testing.T, cfg partner.ReceiverConfig, rec *recorder) string {
	t.Helper()
	if cfg.Secrets == nil {
		cfg.Secrets = []string{testSecret}
	}
	if cfg.Handler == nil {
		cfg.Handler = rec.handle
	}
	receiver, err := partner.NewReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(receiver)
	t.Cleanup(srv.Close)
	return srv.URL
}

// checkConfigError fails the test unless err is nil when want is empty,
// or else wraps ErrInvalidConfig and names every field in want.
func checkConfigError(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if !errors.Is(err, partner.ErrInvalidConfig) {
		t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
}
