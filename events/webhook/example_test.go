package webhook_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ketenbus/ketenbus/events/webhook"
)

func ExampleSigner_SetHeaders() {
	signer, err := webhook.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		fmt.Println(err)
		return
	}
	body := []byte(`{"test": 2432232314}`)
	req, err := http.NewRequest(http.MethodPost, "https://partner.example/ketenbus", strings.NewReader(string(body)))
	if err != nil {
		fmt.Println(err)
		return
	}
	signer.SetHeaders(req.Header, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), body)

	fmt.Println(webhook.HeaderID+":", req.Header.Get(webhook.HeaderID))
	fmt.Println(webhook.HeaderTimestamp+":", req.Header.Get(webhook.HeaderTimestamp))
	fmt.Println(webhook.HeaderSignature+":", req.Header.Get(webhook.HeaderSignature))
	// Output:
	// webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek
	// webhook-timestamp: 1614265330
	// webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

func ExampleVerifier_Verify() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sent := time.Unix(1614265330, 0)

	// The clock is fixed so the example's output is stable; a receiver
	// leaves WithClock out and gets time.Now.
	verifier, err := webhook.NewVerifier([]string{secret},
		webhook.WithClock(func() time.Time { return sent.Add(10 * time.Second) }))
	if err != nil {
		fmt.Println(err)
		return
	}

	receive := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := verifier.Verify(r.Header, body); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		// Decode and process body here, deduplicating on webhook-id.
		w.WriteHeader(http.StatusNoContent)
	})

	signer, err := webhook.NewSigner(secret)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, body := range []string{`{"test": 2432232314}`, `{"test": 0}`} {
		req := httptest.NewRequest(http.MethodPost, "/ketenbus", strings.NewReader(body))
		// Both requests carry headers signed for the first body.
		signer.SetHeaders(req.Header, "msg_p5jXN8AQM9LWM0D4loKWxJek", sent, []byte(`{"test": 2432232314}`))
		rec := httptest.NewRecorder()
		receive.ServeHTTP(rec, req)
		fmt.Println(body, "->", rec.Code)
	}
	// Output:
	// {"test": 2432232314} -> 204
	// {"test": 0} -> 401
}
