package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// TestNoPersonalDataOnAnyPage posts signalen and an aanmelding with known
// BSNs, toelichting and reden text; ggz, whose subscriptions list them,
// answers 400 with the request body echoed, so every event also lands in
// its DLQ. Then every page, fragment and the Live stream is read: none
// holds a BSN, a data field, the full pseudonym, a sealed field or a
// secret, while each shows what it is for.
func TestNoPersonalDataOnAnyPage(t *testing.T) {
	t.Parallel()
	s := newStack(t, options{auth: monitor.Auth{Open: true}})
	s.ggz.Status.Store(http.StatusBadRequest)
	bsns := bsntest.Seeded(8, 2)
	const (
		toelichting1 = "Buurman hoort geschreeuw achter de voordeur"
		toelichting2 = "Huurachterstand van vier maanden"
		reden        = "Zorgen over psychische gesteldheid van bewoner"
	)
	s.post(t, "politie", signaal("s-1", sourcePolitie, bsns[0], toelichting1))
	// A partner's own ids may hold anything, also a BSN.
	s.post(t, "wijkteam", signaal("s-"+bsns[0], sourceWijkteam, bsns[0], toelichting2))
	s.post(t, "politie", aanmelding("a-1", bsns[1], reden))

	runtest.Eventually(t, 10*time.Second, "three dead letters of ggz on its page", func() bool {
		_, body := s.get(t, "/partners/ggz", nil)
		return strings.Count(body, "data-dlq-seq=") == 3
	})
	runtest.Eventually(t, 10*time.Second, "the open samenloop and the pending term", func() bool {
		_, o := s.get(t, "/", nil)
		_, terms := s.get(t, "/termijnen", nil)
		return strings.Contains(o, `id="samenloop-open">1<`) && strings.Contains(terms, "data-due=")
	})

	forbidden := map[string]string{
		"a BSN":                 bsns[0],
		"another BSN":           bsns[1],
		"a toelichting":         toelichting1,
		"another toelichting":   toelichting2,
		"a reden":               reden,
		"a contactpersoon":      "Wijkagent De Vries",
		"a phone number":        "050-1234567",
		"a sealed field":        "kb1.",
		"the full pseudonym":    pseudonym(t, s, bsns[0]),
		"another pseudonym":     pseudonym(t, s, bsns[1]),
		"the pseudonym key":     s.vars["KETENBUS_PSEUDONYM_KEY"],
		"the field key":         s.vars["KETENBUS_FIELD_KEY"],
		"a gateway token":       s.vars["KETENBUS_TOKEN_POLITIE"],
		"a webhook secret":      s.vars["KETENBUS_WEBHOOK_SECRET_GGZ"],
		"a secret's key part":   strings.TrimPrefix(s.vars["KETENBUS_WEBHOOK_SECRET_GGZ"], "whsec_"),
		"the signaal's content": "verward-gedrag",
	}
	short := events.ShortPseudonym(pseudonym(t, s, bsns[0]))
	pages := map[string][]string{
		"/":                             {`id="partner-ggz"`, "signaal.v1"},
		"/fragment/overzicht":           {`id="partner-ggz"`},
		"/live":                         {"signaal.v1", "aanmelding.v1", short},
		"/live?type=signaal.v1":         {short},
		"/live?partner=ggz":             {"aanmelding.v1"},
		"/termijnen":                    {"ggz"},
		"/partners/ggz":                 {"400", "signalen", "aanmeldingen"},
		"/fragment/partners/ggz":        {"400"},
		"/partners/ggz/dlq/retry":       {"3"},
		"/partners/politie":             {"Politie Testregio"},
		"/partners/wijkteam":            {"Wijkteam Testregio"},
		"/partners/zvh":                 {"regie"},
		"/login":                        {"token"},
		"/metrics":                      {"ketenbus_dlq_messages"},
		"/static/monitor.js":            {"EventSource"},
		"/partners/ggz/dlq/retry?seq=1": {"1"},
	}
	for path, want := range pages {
		status, body := s.get(t, path, nil)
		if status != http.StatusOK {
			t.Errorf("GET %s: %d", path, status)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s does not show %q", path, w)
			}
		}
		for what, secret := range forbidden {
			if strings.Contains(body, secret) {
				t.Errorf("GET %s shows %s", path, what)
			}
		}
	}

	runtest.Eventually(t, 5*time.Second, "the samenloop at zvh", func() bool { return s.zvh.Received() > 0 })
	runtest.Eventually(t, 5*time.Second, "the overview counting today's samenloop events", func() bool {
		n := 0
		for _, m := range s.env.Messages(t, events.StreamEvents) {
			if strings.Contains(m.Subject, ".samenloop.") {
				n++
			}
		}
		_, body := s.get(t, "/", nil)
		return n > 0 && strings.Contains(body, fmt.Sprintf(`Nieuwe samenloopmeldingen vandaag</td><td class="n">%d</td>`, n))
	})
	// The posted events and samenloop's; samenloop may still add one
	// while the stream is read.
	before := len(s.env.Messages(t, events.StreamEvents))
	stream := readStream(t, s.url+"/live/stream?since=0", 1500*time.Millisecond)
	after := len(s.env.Messages(t, events.StreamEvents))
	if n := strings.Count(stream, "event: ketenbus\n"); n < before || n > after || n < 3 {
		t.Errorf("the Live stream sent %d events, want every one in EVENTS (%d before reading it, %d after):\n%s", n, before, after, stream)
	}
	if !strings.Contains(stream, short) {
		t.Errorf("the Live stream does not hold the shortened pseudonym")
	}
	for what, secret := range forbidden {
		if strings.Contains(stream, secret) {
			t.Errorf("the Live stream holds %s", what)
		}
	}
	for what, secret := range forbidden {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("the services logged %s", what)
		}
	}
}

// pseudonym is the subject the gateway gives events about bsn.
func pseudonym(t *testing.T, s *stack, bsn string) string {
	t.Helper()
	return e2etest.Pseudonym(t, s.secrets, bsn)
}

// readStream reads an SSE stream for d and returns what came.
func readStream(t *testing.T, url string, d time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Live stream Content-Type %q", ct)
	}
	b, _ := io.ReadAll(resp.Body) // ends with the context
	return string(b)
}
