package escalator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/testutil/projectortest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

const (
	sourcePolitie   = "urn:nld:oin:00000009999999990001:systeem:bvh"
	sourceGGZ       = "urn:nld:kvknr:99999901:systeem:epd"
	sourceZVH       = "urn:nld:oin:00000009999999990002:systeem:regie"
	sourceJeugdzorg = "urn:nld:kvknr:99999902:systeem:dossier"
	sourceWmo       = "urn:nld:oin:00000009999999990006:systeem:wmo"
	pseudonym       = "5f0c6e2d9a0b4c1d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"
)

// posted is when the tests post their first events: the Thursday
// before Easter 2026.
var posted = at("2026-04-02T10:00:00+02:00")

type fixture struct{ *projectortest.Fixture }

func newFixture(t *testing.T, now time.Time, opts ...redistest.Option) *fixture {
	t.Helper()
	return &fixture{projectortest.New(t, now, opts...)}
}

// start runs an escalator instance until the returned stop is called (or
// the test ends), once its timers in Redis are complete.
func (f *fixture) start(t *testing.T) (*escalator.Escalator, func()) {
	t.Helper()
	e, stop := f.run(t)
	waitComplete(t, e)
	return e, stop
}

// startAanmelding starts an escalator on a fixture whose clock stands at
// posted, posts aanmelding a-1 of politie with a term of 5 working days,
// and waits until its timer is set.
func startAanmelding(t *testing.T) (*fixture, *escalator.Escalator) {
	t.Helper()
	f := newFixture(t, posted)
	e, _ := f.start(t)
	f.aanmelding(t, "a-1", posted, 5)
	waitTimer(t, e, sourcePolitie, "a-1", true)
	return f, e
}

// run runs an escalator instance until the returned stop is called (or
// the test ends), and returns at once.
func (f *fixture) run(t *testing.T) (*escalator.Escalator, func()) {
	t.Helper()
	logger, metrics := f.Instance()
	e, err := escalator.New(escalator.Config{
		ServiceConfig: projector.ServiceConfig{
			Region: f.Region, JetStream: f.Env.JS, Redis: f.RDB, Now: f.Clock.Now, Logger: logger, Metrics: metrics,
			CheckInterval: 50 * time.Millisecond, RebuildLock: 3 * time.Second,
		},
		PollInterval: 5 * time.Millisecond, Lease: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e, runtest.Start(t, "escalator", e.Run)
}

// waitComplete waits until the escalator found its timers complete.
func waitComplete(t *testing.T, e *escalator.Escalator) {
	t.Helper()
	projectortest.WaitComplete(t, "the timers", e.Complete)
}

// store puts an event on EVENTS as the gateway would.
func (f *fixture) store(t *testing.T, partner, typ, source, id string, logged time.Time, data any, ontvanger string) {
	t.Helper()
	ev := map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": typ,
		"time": logged.Format(time.RFC3339Nano), "datacontenttype": "application/json", "data": data,
	}
	if typ != events.TypeBevestiging {
		ev["subject"] = pseudonym
	}
	if ontvanger != "" {
		ev["ontvanger"] = ontvanger
	}
	f.Env.StoreEvent(t, partner, ev)
}

func (f *fixture) aanmelding(t *testing.T, id string, logged time.Time, werkdagen int) {
	f.store(t, "politie", events.TypeAanmelding, sourcePolitie, id, logged, map[string]any{
		"bsn": "111222333", "ontvanger": "ggz", "reden": "zorgen",
		"contactpersoon": map[string]any{"naam": "Wijkagent"}, "reactietermijn": map[string]any{"werkdagen": werkdagen},
	}, "ggz")
}

// aanmeldingen posts aanmeldingen a-from up to a-to (not included) of
// politie with terms of 5 working days, and waits until e set the timer
// of the last.
func (f *fixture) aanmeldingen(t *testing.T, e *escalator.Escalator, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		f.aanmelding(t, fmt.Sprintf("a-%d", i), posted, 5)
	}
	waitTimer(t, e, sourcePolitie, fmt.Sprintf("a-%d", to-1), true)
}

func (f *fixture) bevestiging(t *testing.T, partner, source, id, betreft, status string) {
	f.store(t, partner, events.TypeBevestiging, source, id, f.Clock.Now(), map[string]any{
		"betreft": map[string]any{"source": sourcePolitie, "id": betreft}, "status": status,
	}, "")
}

type escalatie struct {
	ID        string
	Ontvanger string
	Data      events.Escalatie
}

// escalaties returns the escalaties stored in EVENTS.
func (f *fixture) escalaties(t *testing.T) []escalatie {
	t.Helper()
	return decodeEscalaties(t, f.Env.Produced(t, events.TypeEscalatie))
}

// waitEscalaties waits until EVENTS holds n escalaties, then checks it
// stays at n for a moment, and returns them.
func (f *fixture) waitEscalaties(t *testing.T, n int) []escalatie {
	t.Helper()
	return decodeEscalaties(t, f.WaitProduced(t, events.TypeEscalatie, n))
}

// decodeEscalaties reads evs, after checking each is about the
// pseudonym.
func decodeEscalaties(t *testing.T, evs []cloudevents.Event) []escalatie {
	t.Helper()
	var out []escalatie
	for _, ev := range evs {
		var d events.Escalatie
		if err := ev.DataAs(&d); err != nil {
			t.Fatal(err)
		}
		o, _ := ev.Extensions()[events.ExtensionOntvanger].(string)
		if ev.Subject() != pseudonym {
			t.Fatalf("escalatie subject %q, want the pseudonym", ev.Subject())
		}
		out = append(out, escalatie{ID: ev.ID(), Ontvanger: o, Data: d})
	}
	return out
}

// waitTimer waits until the escalator stored (or removed) the timer of an
// event.
func waitTimer(t *testing.T, e *escalator.Escalator, source, id string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, ok, err := e.Store().Get(context.Background(), events.MsgID(source, id))
		if err == nil && ok == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timer of %s present=%v, want %v (err %v)", id, ok, want, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
