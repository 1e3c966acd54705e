package partner_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/events/webhook"
)

// A complete partner receiver. In production the secret comes from the
// environment and the mux is served over TLS with http.ListenAndServeTLS;
// here ketenbus's delivery is simulated by a test server.
func ExampleNewReceiver() {
	receiver, err := partner.NewReceiver(partner.ReceiverConfig{
		Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, // os.Getenv("KETENBUS_WEBHOOK_SECRET")
		Handler: func(ctx context.Context, e event.Event) error {
			fmt.Println(e.Type(), e.Subject())
			return nil
		},
		Idempotency: partner.NewMemoryStore(0, 0),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ketenbus", receiver)

	srv := httptest.NewServer(mux) // production: http.ListenAndServeTLS(":8443", cert, key, mux)
	defer srv.Close()
	fmt.Println(deliver(srv.URL+"/ketenbus", "evt-1"))
	fmt.Println(deliver(srv.URL+"/ketenbus", "evt-1")) // a redelivery: not handled again
	// Output:
	// nl.sociaaldomein.signaal.v1 c38bb4ee1ad9
	// 204 No Content
	// 200 OK
}

// The handler's error tells ketenbus what to do: come back later, or give
// up on this event and put it in the dead letter queue.
func ExampleReject() {
	errNoClient := errors.New("no client with this pseudonym")
	receiver, err := partner.NewReceiver(partner.ReceiverConfig{
		Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		Handler: func(ctx context.Context, e event.Event) error {
			switch e.ID() {
			case "evt-unknown-client":
				return partner.Reject(errNoClient) // 400: dead letter queue, no retries
			case "evt-during-maintenance":
				return partner.RetryAfter(errors.New("maintenance"), 10*time.Minute) // 503, Retry-After: 600
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(receiver)
	defer srv.Close()
	fmt.Println(deliver(srv.URL, "evt-unknown-client"))
	fmt.Println(deliver(srv.URL, "evt-during-maintenance"))
	fmt.Println(deliver(srv.URL, "evt-fine"))
	// Output:
	// 400 Bad Request
	// 503 Service Unavailable, Retry-After: 600
	// 204 No Content
}

// deliver posts a signaal with event id id to url as ketenbus does: a
// structured CloudEvent signed under Standard Webhooks. It returns the
// status, and Retry-After if there is one.
func deliver(url, id string) string {
	body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"urn:nld:oin:00000009999999990001:systeem:bvh",`+
		`"type":"nl.sociaaldomein.signaal.v1","subject":"c38bb4ee1ad9","sequence":"7","data":{"categorie":"schulden"}}`, id)
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", events.ContentTypeStructured)
	signer, err := webhook.NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		return err.Error()
	}
	signer.SetHeaders(req.Header, id, time.Now(), []byte(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	resp.Body.Close()
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		return resp.Status + ", Retry-After: " + ra
	}
	return resp.Status
}
