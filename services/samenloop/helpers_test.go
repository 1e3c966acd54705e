package samenloop_test

import (
	"context"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/testutil/projectortest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

const (
	pseudonym = "5f0c6e2d9a0b4c1d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"
	window    = 730 * 24 * time.Hour
)

var sources = map[string]string{
	"politie":  "urn:nld:oin:00000009999999990001:systeem:bvh",
	"ggz":      "urn:nld:kvknr:99999901:systeem:epd",
	"wijkteam": "urn:nld:oin:00000009999999990003:systeem:wijk",
	"zvh":      "urn:nld:oin:00000009999999990002:systeem:regie",
}

// t0 is close to the real time: a rebuild reads EVENTS by when the
// events were stored.
var t0 = time.Now().UTC().Truncate(time.Second)

type fixture struct{ *projectortest.Fixture }

func newFixture(t *testing.T, opts ...redistest.Option) *fixture {
	t.Helper()
	return &fixture{projectortest.New(t, t0, opts...)}
}

// startIndexed starts a service on a fixture of opts (start) and waits
// until politie's signaal p-1 at t0 is in the index.
func startIndexed(t *testing.T, opts ...redistest.Option) (*fixture, *samenloop.Service) {
	t.Helper()
	f := newFixture(t, opts...)
	s, _ := f.start(t)
	f.signaal(t, signaal{partner: "politie", id: "p-1", at: t0})
	f.waitIndexed(t, s, 1)
	return f, s
}

// startSignalen starts a service on a new fixture and stores ss in turn.
func startSignalen(t *testing.T, ss ...signaal) (*fixture, *samenloop.Service) {
	t.Helper()
	f := newFixture(t)
	s, _ := f.start(t)
	f.signaal(t, ss...)
	return f, s
}

func (f *fixture) service(t *testing.T, durable string) *samenloop.Service {
	t.Helper()
	logger, metrics := f.Instance()
	s, err := samenloop.New(samenloop.Config{
		ServiceConfig: projector.ServiceConfig{
			Region: f.Region, JetStream: f.Env.JS, Redis: f.RDB, Now: f.Clock.Now, Durable: durable, Logger: logger, Metrics: metrics,
			CheckInterval: 50 * time.Millisecond, RebuildLock: 3 * time.Second,
		},
		ExpireInterval: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs a service until the returned stop is called (or the test
// ends), once its index in Redis is complete.
func (f *fixture) start(t *testing.T) (*samenloop.Service, func()) {
	t.Helper()
	s := f.service(t, "")
	stop := runtest.Start(t, "samenloop", s.Run)
	waitComplete(t, s)
	return s, stop
}

// waitComplete waits until the service found its index complete.
func waitComplete(t *testing.T, s *samenloop.Service) {
	t.Helper()
	projectortest.WaitComplete(t, "the samenloop index", s.Complete)
}

// signaal is a signaal as the tests store it: every data field carries
// its partner's name, so a leak shows.
type signaal struct {
	partner, id string
	at          time.Time
	bsn         string
}

func (s signaal) event() map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": s.id, "source": sources[s.partner], "type": events.TypeSignaal,
		"subject": pseudonym, "time": s.at.Format(time.RFC3339Nano), "datacontenttype": "application/json",
		"data": map[string]any{
			"bsn": s.bsn, "categorie": categorie[s.partner], "urgentie": urgentie[s.partner],
			"toelichting":    "toelichting-van-" + s.partner + "-" + s.id,
			"contactpersoon": map[string]any{"naam": "Contact " + s.partner, "telefoon": "050 000 0001"},
		},
	}
}

var (
	categorie = map[string]string{"politie": "huiselijk-geweld", "ggz": "verward-gedrag", "wijkteam": "schulden", "zvh": "overlast"}
	urgentie  = map[string]string{"politie": "hoog", "ggz": "midden", "wijkteam": "laag", "zvh": "acuut"}
)

// signaal stores ss in turn, each of the BSN 999993653 and of now unless
// it says otherwise.
func (f *fixture) signaal(t *testing.T, ss ...signaal) {
	t.Helper()
	for _, s := range ss {
		if s.bsn == "" {
			s.bsn = "999993653"
		}
		if s.at.IsZero() {
			s.at = f.Clock.Now()
		}
		f.Env.StoreEvent(t, s.partner, s.event())
	}
}

func (f *fixture) afgerond(t *testing.T, by, id string, betreft signaal) {
	t.Helper()
	f.Env.StoreEvent(t, by, map[string]any{
		"specversion": "1.0", "id": id, "source": sources[by], "type": events.TypeBevestiging,
		"time": f.Clock.Now().Format(time.RFC3339Nano), "datacontenttype": "application/json",
		"data": map[string]any{
			"betreft": map[string]any{"source": sources[betreft.partner], "id": betreft.id, "type": events.TypeSignaal},
			"status":  "afgerond",
		},
	})
}

type samenloopEvent struct {
	ID, Ontvanger string
	Raw           []byte
	Data          events.Samenloop
}

// samenloopEvents returns the samenloop events on EVENTS, each checked
// against the catalog.
func (f *fixture) samenloopEvents(t *testing.T) []samenloopEvent {
	t.Helper()
	return decodeEvents(t, f.Env.Produced(t, events.TypeSamenloop))
}

// waitEvents waits until EVENTS holds n samenloop events, checks it stays
// at n for a moment, and returns them by ontvanger.
func (f *fixture) waitEvents(t *testing.T, n int) map[string][]samenloopEvent {
	t.Helper()
	by := map[string][]samenloopEvent{}
	for _, e := range decodeEvents(t, f.WaitProduced(t, events.TypeSamenloop, n)) {
		by[e.Ontvanger] = append(by[e.Ontvanger], e)
	}
	return by
}

// decodeEvents reads evs, after checking each is about the pseudonym and
// for the ontvanger its data names.
func decodeEvents(t *testing.T, evs []cloudevents.Event) []samenloopEvent {
	t.Helper()
	var out []samenloopEvent
	for _, ev := range evs {
		var d events.Samenloop
		if err := ev.DataAs(&d); err != nil {
			t.Fatal(err)
		}
		o, _ := ev.Extensions()[events.ExtensionOntvanger].(string)
		if ev.Subject() != pseudonym || o != d.Ontvanger {
			t.Fatalf("samenloop event subject %q ontvanger %q, want the pseudonym and %q", ev.Subject(), o, d.Ontvanger)
		}
		raw, err := ev.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, samenloopEvent{ID: ev.ID(), Ontvanger: o, Raw: raw, Data: d})
	}
	return out
}

// waitIndexed waits until the index holds n signalen on the pseudonym.
func (f *fixture) waitIndexed(t *testing.T, s *samenloop.Service, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		signals, _, err := s.Index().Person(context.Background(), pseudonym)
		if err == nil && len(signals) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("index holds %d signalen, want %d (err %v)", len(signals), n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// about returns the partner ids of an event's betrokkenen.
func about(e samenloopEvent) []string {
	var ps []string
	for _, b := range e.Data.Betrokkenen {
		ps = append(ps, b.Partner)
	}
	return ps
}

// refs returns the ids of an event's own signalen, after checking they
// are the ontvanger's own.
func refs(t *testing.T, e samenloopEvent) []string {
	t.Helper()
	var ids []string
	for _, r := range e.Data.Signalen {
		if r.Source != sources[e.Ontvanger] || r.Type != events.TypeSignaal {
			t.Fatalf("event for %s lists signaal %+v, not its own", e.Ontvanger, r)
		}
		ids = append(ids, r.ID)
	}
	return ids
}
