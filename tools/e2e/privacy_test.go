package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/events/bsntest"
	"github.com/ketenbus/ketenbus/events/partner"
	"github.com/ketenbus/ketenbus/services/shared/fieldcrypt"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
	"github.com/ketenbus/ketenbus/tools/e2e/e2etest"
)

// privacyRegion: zvh's subscription lists bsn, wijkteam's does not. The
// retention keys are filled in per test.
var privacyRegion = e2etest.MustRead("testdata/privacy.yaml")

func privacySignaal(id, bsn string) map[string]any {
	return e2etest.Event(id, sourcePolitie, events.TypeSignaal, map[string]any{
		"bsn": bsn, "categorie": "overlast", "urgentie": "hoog",
		"contactpersoon": map[string]any{"naam": "Wijkagent"},
	})
}

// bsnsReceived returns, by event id, the bsn a recorder's events carried
// ("" without one).
func bsnsReceived(t *testing.T, r *recorder) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, x := range r.events() {
		var d map[string]any
		if err := x.event.DataAs(&d); err != nil {
			t.Fatal(err)
		}
		bsn, _ := d["bsn"].(string)
		out[x.event.ID()] = bsn
	}
	return out
}

// TestKeyRotation: an event sealed under key 1 is still delivered, opened,
// after key 2 was added; new events are sealed under key 2.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, natstest.Start(t), "politie", "zvh", "wijkteam")
	zvh, wijkteam := &recorder{}, &recorder{}
	urls := map[string]string{"zvh": f.sink(t, "zvh", "", zvh.handle).url, "wijkteam": f.sink(t, "wijkteam", "", wijkteam.handle).url}
	key1 := f.vars["KETENBUS_FIELD_KEY"]
	bsns := bsntest.Seeded(41, 2)
	bsn1, bsn2 := bsns[0], bsns[1]

	// Before the rotation: the gateway seals under key 1; no adapter runs
	// yet, so the delivery waits in DELIVERY.
	f.load(t, privacyRegion, urls)
	f.startGateway(t, nil)
	f.startRouter(t, nil)
	f.postEvents(t, "politie", privacySignaal("s-1", bsn1))

	// Rotation: key 2 is added after key 1, and the services restart.
	key2 := e2etest.Key()
	f.vars["KETENBUS_FIELD_KEY"] = key1 + "," + key2
	f.load(t, privacyRegion, urls)
	f.startGateway(t, nil)
	f.startAdapter(t, nil)
	f.postEvents(t, "politie", privacySignaal("s-2", bsn2))

	runtest.Eventually(t, 10*time.Second, "both signalen at zvh and wijkteam", func() bool {
		return len(zvh.events()) == 2 && len(wijkteam.events()) == 2
	})
	if got := bsnsReceived(t, zvh); got["s-1"] != bsn1 || got["s-2"] != bsn2 {
		t.Fatalf("zvh received other BSNs than were sent (s-1 ok: %v, s-2 ok: %v)", got["s-1"] == bsn1, got["s-2"] == bsn2)
	}
	if got := bsnsReceived(t, wijkteam); got["s-1"] != "" || got["s-2"] != "" {
		t.Fatal("wijkteam, whose subscription does not list bsn, received one")
	}
	ids := map[string]string{}
	for _, m := range f.env.Messages(t, events.StreamEvents) {
		var e struct {
			ID   string
			Data struct{ BSN string }
		}
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatal(err)
		}
		ids[e.ID] = e.Data.BSN
	}
	k1, _ := base64.StdEncoding.DecodeString(key1)
	k2, _ := base64.StdEncoding.DecodeString(key2)
	if !strings.HasPrefix(ids["s-1"], "kb1."+fieldcrypt.KeyID(k1)+".") || !strings.HasPrefix(ids["s-2"], "kb1."+fieldcrypt.KeyID(k2)+".") {
		t.Fatalf("stored bsn of s-1 under key %s, of s-2 under key %s; want key 1 and key 2", keyIDOf(ids["s-1"]), keyIDOf(ids["s-2"]))
	}
}

func keyIDOf(sealed string) string {
	parts := strings.SplitN(sealed, ".", 3)
	if len(parts) < 2 {
		return "none"
	}
	return parts[1]
}

// TestRetention: with a retention of two seconds, an event, its
// deliveries and its dead letter are gone from every stream once it has
// passed.
func TestRetention(t *testing.T) {
	t.Parallel()
	f := newFixture(t, natstest.Start(t), "politie", "zvh", "wijkteam")
	zvh := &recorder{}
	// wijkteam refuses everything: its delivery goes to the DLQ at once.
	refuse := func() *sink {
		r := &recorder{fail: func(cloudevents.Event, int) error { return partner.Reject(errors.New("not for us")) }}
		return f.sink(t, "wijkteam", "", r.handle)
	}()
	urls := map[string]string{"zvh": f.sink(t, "zvh", "", zvh.handle).url, "wijkteam": refuse.url}
	f.load(t, privacyRegion+"retention: {signaal: 2s, audit: 2s}\n", urls)
	f.startGateway(t, nil)
	f.startRouter(t, nil)
	f.startAdapter(t, nil)
	f.postEvents(t, "politie", privacySignaal("s-1", bsntest.Seeded(42, 1)[0]))

	streams := []string{events.StreamEvents, events.StreamDelivery, events.StreamDLQ}
	runtest.Eventually(t, 10*time.Second, "the event in EVENTS, its deliveries in DELIVERY and the DLQ", func() bool {
		return len(f.env.Messages(t, events.StreamEvents)) == 1 && len(f.env.Messages(t, events.StreamDelivery)) == 2 &&
			len(f.env.Messages(t, events.StreamDLQ)) == 1 && len(zvh.events()) == 1
	})
	for _, s := range streams {
		for _, m := range f.env.Messages(t, s) {
			if m.Header.Get("Nats-TTL") == "" {
				t.Errorf("%s at %d has no TTL", s, m.Sequence)
			}
		}
	}
	runtest.Eventually(t, 10*time.Second, "every stream empty after the retention", func() bool {
		for _, s := range append(streams, events.StreamAudit) {
			if len(f.env.Messages(t, s)) > 0 {
				return false
			}
		}
		return true
	})
}
