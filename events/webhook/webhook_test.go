package webhook_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events/webhook"
)

// The test vector published with the Standard Webhooks specification.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = "1614265330"
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var vectorTime = time.Unix(1614265330, 0)

func clockAt(t time.Time) func() time.Time {
	return func() time.Time { return t }
}

func mustSecret(t *testing.T) string {
	t.Helper()
	s, err := webhook.NewSecret()
	if err != nil {
		t.Fatalf("NewSecret: %v", err)
	}
	return s
}

func mustSigner(t *testing.T, secret string) *webhook.Signer {
	t.Helper()
	s, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func mustVerifier(t *testing.T, secrets []string, opts ...webhook.VerifierOption) *webhook.Verifier {
	t.Helper()
	v, err := webhook.NewVerifier(secrets, opts...)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func vectorHeaders() http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, vectorID)
	h.Set(webhook.HeaderTimestamp, vectorTimestamp)
	h.Set(webhook.HeaderSignature, vectorSignature)
	return h
}

func TestStandardWebhooksVector(t *testing.T) {
	t.Parallel()
	signer := mustSigner(t, vectorSecret)
	if got := signer.Sign(vectorID, vectorTime, []byte(vectorPayload)); got != vectorSignature {
		t.Errorf("Sign = %q, want %q", got, vectorSignature)
	}

	h := http.Header{}
	signer.SetHeaders(h, vectorID, vectorTime, []byte(vectorPayload))
	want := vectorHeaders()
	for _, name := range []string{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature} {
		if h.Get(name) != want.Get(name) {
			t.Errorf("SetHeaders %s = %q, want %q", name, h.Get(name), want.Get(name))
		}
	}

	v := mustVerifier(t, []string{vectorSecret}, webhook.WithClock(clockAt(vectorTime)))
	if err := v.Verify(vectorHeaders(), []byte(vectorPayload)); err != nil {
		t.Errorf("Verify(vector) = %v, want nil", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	otherSecret := mustSecret(t)
	otherSig := mustSigner(t, otherSecret).Sign(vectorID, vectorTime, []byte(vectorPayload))

	del := func(name string) func(http.Header) { return func(h http.Header) { h.Del(name) } }
	set := func(name, value string) func(http.Header) { return func(h http.Header) { h.Set(name, value) } }
	sig := func(value string) func(http.Header) { return set(webhook.HeaderSignature, value) }
	tolerance := func(d time.Duration) []webhook.VerifierOption {
		return []webhook.VerifierOption{webhook.WithTolerance(d)}
	}
	bare := strings.TrimPrefix(vectorSignature, "v1,")

	tests := []struct {
		name    string
		secrets []string
		now     time.Duration // the verifier's clock, after vectorTime
		opts    []webhook.VerifierOption
		edit    func(h http.Header)
		body    string
		wantErr error
	}{
		{name: "valid"},
		{name: "missing id", edit: del(webhook.HeaderID), wantErr: webhook.ErrMissingHeaders},
		{name: "missing timestamp", edit: del(webhook.HeaderTimestamp), wantErr: webhook.ErrMissingHeaders},
		{name: "missing signature", edit: del(webhook.HeaderSignature), wantErr: webhook.ErrMissingHeaders},
		{name: "empty signature", edit: sig(""), wantErr: webhook.ErrMissingHeaders},
		{name: "timestamp not a number", edit: set(webhook.HeaderTimestamp, "yesterday"), wantErr: webhook.ErrInvalidTimestamp},
		{name: "timestamp in RFC 3339", edit: set(webhook.HeaderTimestamp, "2021-02-26T15:42:10Z"), wantErr: webhook.ErrInvalidTimestamp},
		{name: "timestamp with fraction", edit: set(webhook.HeaderTimestamp, "1614265330.5"), wantErr: webhook.ErrInvalidTimestamp},
		{name: "too old", now: webhook.DefaultTolerance + time.Second, wantErr: webhook.ErrTimestampTooOld},
		{name: "too new", now: -webhook.DefaultTolerance - time.Second, wantErr: webhook.ErrTimestampTooNew},
		{name: "old but at the tolerance", now: webhook.DefaultTolerance},
		{name: "new but at the tolerance", now: -webhook.DefaultTolerance},
		{name: "too old for a custom tolerance", now: time.Minute, opts: tolerance(30 * time.Second), wantErr: webhook.ErrTimestampTooOld},
		{name: "within a custom tolerance", now: time.Hour, opts: tolerance(2 * time.Hour)},
		{name: "non-positive tolerance keeps the default", now: time.Minute, opts: tolerance(0)},
		{name: "tampered body", body: `{"test": 2432232315}`, wantErr: webhook.ErrNoMatchingSignature},
		{name: "tampered id", edit: set(webhook.HeaderID, "msg_other"), wantErr: webhook.ErrNoMatchingSignature},
		{name: "wrong secret", secrets: []string{otherSecret}, wantErr: webhook.ErrNoMatchingSignature},
		{name: "several signatures, one matches", edit: sig(otherSig + " v1,bm90IGEgc2lnbmF0dXJl " + vectorSignature)},
		{name: "several signatures, none matches", edit: sig(otherSig + " v1,bm90IGEgc2lnbmF0dXJl"), wantErr: webhook.ErrNoMatchingSignature},
		{name: "other versions are ignored", edit: sig("v1a," + bare + " " + vectorSignature)},
		{name: "v1a only", edit: sig("v1a," + bare), wantErr: webhook.ErrNoMatchingSignature},
		{name: "no version prefix", edit: sig(bare), wantErr: webhook.ErrNoMatchingSignature},
		{name: "signature not base64", edit: sig("v1,!!!"), wantErr: webhook.ErrNoMatchingSignature},
		{name: "truncated signature", edit: sig("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIA=="), wantErr: webhook.ErrNoMatchingSignature},
		{name: "rotation: second secret matches", secrets: []string{otherSecret, vectorSecret}},
		{name: "rotation: first secret matches", secrets: []string{vectorSecret, otherSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{vectorSecret}
			}
			opts := append([]webhook.VerifierOption{webhook.WithClock(clockAt(vectorTime.Add(tt.now)))}, tt.opts...)
			v := mustVerifier(t, secrets, opts...)
			h := vectorHeaders()
			if tt.edit != nil {
				tt.edit(h)
			}
			body := tt.body
			if body == "" {
				body = vectorPayload
			}

			err := v.Verify(h, []byte(body))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			msg := err.Error()
			for _, secret := range secrets {
				if strings.Contains(msg, strings.TrimPrefix(secret, "whsec_")) {
					t.Errorf("error %q contains a secret", msg)
				}
			}
			for _, sig := range strings.Fields(h.Get(webhook.HeaderSignature)) {
				_, enc, _ := strings.Cut(sig, ",")
				if enc != "" && strings.Contains(msg, enc) {
					t.Errorf("error %q contains a signature", msg)
				}
			}
		})
	}
}

func TestVerifyMissingHeadersNamesThem(t *testing.T) {
	t.Parallel()
	v := mustVerifier(t, []string{vectorSecret}, webhook.WithClock(clockAt(vectorTime)))
	err := v.Verify(http.Header{}, []byte(vectorPayload))
	if !errors.Is(err, webhook.ErrMissingHeaders) {
		t.Fatalf("Verify(no headers) = %v, want ErrMissingHeaders", err)
	}
	for _, name := range []string{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xA5}, n)) }

	tests := []struct {
		name    string
		secret  string
		wantLen int
		wantErr bool
	}{
		{name: "standard vector", secret: vectorSecret, wantLen: 24},
		{name: "bare base64", secret: strings.TrimPrefix(vectorSecret, "whsec_"), wantLen: 24},
		{name: "trailing newline", secret: vectorSecret + "\n", wantLen: 24},
		{name: "32 bytes", secret: "whsec_" + b64(32), wantLen: 32},
		{name: "64 bytes", secret: "whsec_" + b64(64), wantLen: 64},
		{name: "empty", secret: "", wantErr: true},
		{name: "prefix only", secret: "whsec_", wantErr: true},
		{name: "too short", secret: "whsec_" + b64(23), wantErr: true},
		{name: "too long", secret: "whsec_" + b64(65), wantErr: true},
		{name: "not base64", secret: "whsec_this-is-not-base64-at-all!!", wantErr: true},
		{name: "url-safe base64", secret: "whsec_" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xFB}, 32)), wantErr: true},
		{name: "missing padding", secret: "whsec_" + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)), wantErr: true},
		{name: "other prefix", secret: "sk_live_" + b64(32), wantErr: true},
		{name: "plain password", secret: "Geheim-Wachtwoord-2024", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := webhook.ParseSecret(tt.secret)
			if tt.wantErr {
				if !errors.Is(err, webhook.ErrInvalidSecret) {
					t.Fatalf("ParseSecret = %v, want ErrInvalidSecret", err)
				}
				assertNoSecret(t, err, tt.secret)
				// The same error must come back, just as clean, from the constructors.
				_, err = webhook.NewSigner(tt.secret)
				if !errors.Is(err, webhook.ErrInvalidSecret) {
					t.Fatalf("NewSigner = %v, want ErrInvalidSecret", err)
				}
				assertNoSecret(t, err, tt.secret)
				_, err = webhook.NewVerifier([]string{vectorSecret, tt.secret})
				if !errors.Is(err, webhook.ErrInvalidSecret) {
					t.Fatalf("NewVerifier = %v, want ErrInvalidSecret", err)
				}
				assertNoSecret(t, err, tt.secret)
				assertNoSecret(t, err, vectorSecret)
				return
			}
			if err != nil {
				t.Fatalf("ParseSecret = %v, want nil", err)
			}
			if len(key) != tt.wantLen {
				t.Errorf("key is %d bytes, want %d", len(key), tt.wantLen)
			}
		})
	}
}

// assertNoSecret fails if the error text contains the secret or any part of
// it long enough to matter.
func assertNoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	msg := err.Error()
	body := strings.TrimSpace(strings.TrimPrefix(secret, "whsec_"))
	const window = 8
	if len(body) < window {
		if body != "" && strings.Contains(msg, body) {
			t.Errorf("error %q contains the secret", msg)
		}
		return
	}
	for i := 0; i+window <= len(body); i++ {
		if strings.Contains(msg, body[i:i+window]) {
			t.Errorf("error %q contains part of the secret", msg)
			return
		}
	}
}

func TestNewVerifierNeedsASecret(t *testing.T) {
	t.Parallel()
	for _, secrets := range [][]string{nil, {}} {
		if _, err := webhook.NewVerifier(secrets); !errors.Is(err, webhook.ErrInvalidSecret) {
			t.Errorf("NewVerifier(%v) = %v, want ErrInvalidSecret", secrets, err)
		}
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, b := mustSecret(t), mustSecret(t)
	if a == b {
		t.Fatal("NewSecret returned the same secret twice")
	}
	for _, s := range []string{a, b} {
		if !strings.HasPrefix(s, "whsec_") {
			t.Errorf("secret does not start with whsec_")
		}
		key, err := webhook.ParseSecret(s)
		if err != nil {
			t.Fatalf("ParseSecret(NewSecret()) = %v", err)
		}
		if len(key) != 32 {
			t.Errorf("key is %d bytes, want 32", len(key))
		}
	}
}

// TestRoundTripOverHTTP signs a request on the client side and verifies it in
// a real HTTP server, with the real clock.
func TestRoundTripOverHTTP(t *testing.T) {
	t.Parallel()
	secret := mustSecret(t)
	signer := mustSigner(t, secret)
	v := mustVerifier(t, []string{secret})

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if err := v.Verify(r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		name   string
		sent   string
		signed string
		want   int
	}{
		{name: "signed body", sent: `{"type":"nl.ketenbus.signaal"}`, signed: `{"type":"nl.ketenbus.signaal"}`, want: http.StatusNoContent},
		{name: "empty body", sent: "", signed: "", want: http.StatusNoContent},
		{name: "body changed in transit", sent: `{"type":"nl.ketenbus.escalatie"}`, signed: `{"type":"nl.ketenbus.signaal"}`, want: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader(tt.sent))
			if err != nil {
				t.Fatal(err)
			}
			signer.SetHeaders(req.Header, "evt-"+tt.name, time.Now(), []byte(tt.signed))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.want {
				msg, _ := io.ReadAll(resp.Body)
				t.Errorf("status = %d (%s), want %d", resp.StatusCode, bytes.TrimSpace(msg), tt.want)
			}
		})
	}
}

// TestConcurrentUse shares one Signer and one Verifier between goroutines;
// run with -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	signer := mustSigner(t, vectorSecret)
	v := mustVerifier(t, []string{vectorSecret}, webhook.WithClock(clockAt(vectorTime)))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				h := http.Header{}
				signer.SetHeaders(h, vectorID, vectorTime, []byte(vectorPayload))
				if err := v.Verify(h, []byte(vectorPayload)); err != nil {
					t.Errorf("Verify = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
