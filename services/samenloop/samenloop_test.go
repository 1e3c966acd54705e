package samenloop_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/scrape"
	"github.com/ketenbus/ketenbus/services/shared/testutil/metrictest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/redistest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

func wantAbout(t *testing.T, by map[string][]samenloopEvent, ontvanger string, partners, ownIDs []string) samenloopEvent {
	t.Helper()
	es := by[ontvanger]
	if len(es) != 1 {
		t.Fatalf("%d events for %s, want 1", len(es), ontvanger)
	}
	e := es[0]
	if e.Data.Regievoerder != "zvh" {
		t.Errorf("event for %s names regievoerder %q", ontvanger, e.Data.Regievoerder)
	}
	if got := about(e); !slices.Equal(got, partners) {
		t.Errorf("event for %s is about %v, want %v", ontvanger, got, partners)
	}
	if got := refs(t, e); !slices.Equal(got, ownIDs) {
		t.Errorf("event for %s lists own signalen %v, want %v", ontvanger, got, ownIDs)
	}
	return e
}

func TestTwoPartners(t *testing.T) {
	t.Parallel()
	f, _ := startSignalen(t, signaal{partner: "politie", id: "p-1", at: t0}, signaal{partner: "ggz", id: "g-1", at: t0.Add(time.Hour)})

	by := f.waitEvents(t, 3)
	toGGZ := wantAbout(t, by, "ggz", []string{"politie"}, []string{"g-1"})
	wantAbout(t, by, "politie", []string{"ggz"}, []string{"p-1"})
	toZVH := wantAbout(t, by, "zvh", []string{"politie", "ggz"}, nil)

	b := toGGZ.Data.Betrokkenen[0]
	if b.Naam != "Politie Testregio" || b.Contactpersoon.Naam != "Contact politie" || !b.GesignaleerdOp.Equal(t0) {
		t.Errorf("ggz learns about politie: %+v", b)
	}
	if got := toZVH.Data.Betrokkenen[1].GesignaleerdOp; !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("zvh learns ggz signalled at %v, want %v", got, t0.Add(time.Hour))
	}
	for ontvanger, es := range by {
		if want := bus.SamenloopID(events.MsgID(sources["ggz"], "g-1"), ontvanger); es[0].ID != want {
			t.Errorf("event for %s has id %s, want %s", ontvanger, es[0].ID, want)
		}
	}
}

func TestThreePartners(t *testing.T) {
	t.Parallel()
	f, _ := startSignalen(t, signaal{partner: "politie", id: "p-1", at: t0}, signaal{partner: "ggz", id: "g-1", at: t0.Add(time.Hour)})
	f.waitEvents(t, 3)
	f.signaal(t, signaal{partner: "politie", id: "p-2", at: t0.Add(2 * time.Hour)}, signaal{partner: "wijkteam", id: "w-1", at: t0.Add(3 * time.Hour)})

	// Only about the new member: four more events, none new for a
	// partner already involved except the news of wijkteam.
	all := f.waitEvents(t, 7)
	var by = map[string][]samenloopEvent{}
	for o, es := range all {
		for _, e := range es {
			if e.ID == bus.SamenloopID(events.MsgID(sources["wijkteam"], "w-1"), o) {
				by[o] = append(by[o], e)
			}
		}
	}
	wantAbout(t, by, "wijkteam", []string{"politie", "ggz"}, []string{"w-1"})
	wantAbout(t, by, "politie", []string{"wijkteam"}, []string{"p-1", "p-2"})
	wantAbout(t, by, "ggz", []string{"wijkteam"}, []string{"g-1"})
	wantAbout(t, by, "zvh", []string{"politie", "ggz", "wijkteam"}, nil)
}

func TestSamePartnerTwice(t *testing.T) {
	t.Parallel()
	f, s := startSignalen(t, signaal{partner: "politie", id: "p-1", at: t0}, signaal{partner: "politie", id: "p-2", at: t0.Add(time.Minute)})
	f.waitIndexed(t, s, 2)
	f.waitEvents(t, 0)
}

func TestRegievoerderSignals(t *testing.T) {
	t.Parallel()
	f, _ := startSignalen(t, signaal{partner: "zvh", id: "z-1", at: t0}, signaal{partner: "ggz", id: "g-1", at: t0.Add(time.Hour)})
	// One event each: the regievoerder's names everyone, with its own signaal.
	by := f.waitEvents(t, 2)
	wantAbout(t, by, "ggz", []string{"zvh"}, []string{"g-1"})
	wantAbout(t, by, "zvh", []string{"zvh", "ggz"}, []string{"z-1"})
}

func TestWindowExpiry(t *testing.T) {
	t.Parallel()
	f, s := startIndexed(t)

	// A day before the window passes, ggz's signaal makes a samenloop;
	// once it passed, wijkteam's finds only ggz … which is a samenloop
	// already, so wijkteam joins ggz alone.
	f.Clock.Set(t0.Add(window - 24*time.Hour))
	f.signaal(t, signaal{partner: "ggz", id: "g-1", at: f.Clock.Now()})
	f.waitEvents(t, 3)
	f.Clock.Set(t0.Add(window + time.Second))
	f.waitIndexed(t, s, 1) // the expiry loop dropped politie's
	f.signaal(t, signaal{partner: "wijkteam", id: "w-1", at: f.Clock.Now()})
	all := f.waitEvents(t, 6)
	for _, e := range all["zvh"] {
		if e.ID == bus.SamenloopID(events.MsgID(sources["wijkteam"], "w-1"), "zvh") && !slices.Equal(about(e), []string{"ggz", "wijkteam"}) {
			t.Fatalf("after the window politie is still involved: %v", about(e))
		}
	}

	// Without a samenloop partner, a signaal after the window is alone.
	f.Clock.Set(t0.Add(3 * window))
	f.waitIndexed(t, s, 0)
	f.signaal(t, signaal{partner: "politie", id: "p-2", at: f.Clock.Now()})
	f.waitIndexed(t, s, 1)
	f.waitEvents(t, 6)
	if n, _ := s.Index().Persons(context.Background()); n != 1 {
		t.Fatalf("%d persons in the index, want 1", n)
	}
}

func TestEarlyRemoval(t *testing.T) {
	t.Parallel()
	f, s := startIndexed(t)
	p1 := signaal{partner: "politie", id: "p-1", at: t0}

	// ggz may not close politie's signaal: it stays.
	f.afgerond(t, "ggz", "b-0", p1)
	time.Sleep(100 * time.Millisecond)
	f.waitIndexed(t, s, 1)

	f.afgerond(t, "politie", "b-1", p1)
	f.waitIndexed(t, s, 0)
	f.signaal(t, signaal{partner: "ggz", id: "g-1", at: t0.Add(time.Hour)})
	f.waitIndexed(t, s, 1)
	f.waitEvents(t, 0)

	// The regievoerder may close any signaal.
	f.signaal(t, signaal{partner: "politie", id: "p-2", at: t0.Add(2 * time.Hour)})
	f.waitEvents(t, 3)
	f.afgerond(t, "zvh", "b-2", signaal{partner: "ggz", id: "g-1"})
	f.waitIndexed(t, s, 1)
	if _, members, _ := s.Index().Person(context.Background(), pseudonym); members != nil {
		t.Fatalf("samenloop of %v goes on with one partner", members)
	}
}

// TestCrashBetweenRedisAndPublish: a service stored a signaal in Redis
// and stopped before its samenloop events were stored. The signaal comes
// back; the events are stored once.
func TestCrashBetweenRedisAndPublish(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// The crashed service: it built the index (of no events), applied both
	// signalen to Redis, published nothing and acked nothing.
	crashed := f.service(t, "")
	if _, err := crashed.Rebuild(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	f.signaal(t, signaal{partner: "politie", id: "p-1", at: t0})
	f.signaal(t, signaal{partner: "ggz", id: "g-1", at: t0.Add(time.Hour)})
	for _, m := range f.Env.Messages(t, events.StreamEvents) {
		p, err := events.Default().ParseStructured(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		in := samenloop.Input{Event: p.Event, Sender: events.SubjectPartner(m.Subject), Seq: m.Sequence, Stored: m.Time}
		if err := crashed.Apply(context.Background(), in, false); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.samenloopEvents(t)) != 0 {
		t.Fatal("published before the restart")
	}

	// The restarted service gets both signalen again: no loss.
	_, stop := f.start(t)
	f.waitEvents(t, 3)
	stop()

	// Delivered yet again (a second crash, after publishing, before the
	// ack: here a new consumer that reads EVENTS from the start): no double.
	again := runtest.Start(t, "samenloop again", f.service(t, "samenloop-again").Run)
	time.Sleep(300 * time.Millisecond)
	f.waitEvents(t, 3)
	again()
}

// TestNoForeignDataFields: a samenloop event says of another partner only
// who it is, how to reach it and when it signalled; never a data field or
// a signaal id of another partner's signalen.
func TestNoForeignDataFields(t *testing.T) {
	t.Parallel()
	sent := []signaal{
		{partner: "politie", id: "p-1", at: t0, bsn: "999993653"},
		{partner: "ggz", id: "g-1", at: t0.Add(time.Hour), bsn: "999993653"},
		{partner: "politie", id: "p-2", at: t0.Add(2 * time.Hour), bsn: "999993653"},
		{partner: "wijkteam", id: "w-1", at: t0.Add(3 * time.Hour), bsn: "999993653"},
		{partner: "zvh", id: "z-1", at: t0.Add(4 * time.Hour), bsn: "999993653"},
	}
	f, _ := startSignalen(t, sent...)
	all := f.waitEvents(t, 3+4+4)
	for ontvanger, es := range all {
		for _, e := range es {
			text := string(e.Raw)
			for _, s := range sent {
				if strings.Contains(text, s.bsn) {
					t.Errorf("event for %s carries a BSN", ontvanger)
				}
				if s.partner == ontvanger {
					continue
				}
				for _, leak := range []string{"toelichting-van-" + s.partner, categorie[s.partner], `"` + s.id + `"`} {
					if strings.Contains(text, leak) {
						t.Errorf("event for %s carries %q of %s's signaal", ontvanger, leak, s.partner)
					}
				}
			}
			if strings.Contains(text, "urgentie") || strings.Contains(text, "categorie") || strings.Contains(text, "toelichting") {
				t.Errorf("event for %s carries a signaal data field: %s", ontvanger, text)
			}
		}
	}
	// Nor does the log name the person.
	if logs := f.Logs.String(); strings.Contains(logs, "999993653") || strings.Contains(logs, pseudonym) || strings.Contains(logs, "toelichting-van") {
		t.Errorf("the log carries personal data:\n%s", logs)
	}
}

func TestRebuild(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	live, stop := f.start(t)
	p1 := signaal{partner: "politie", id: "p-1", at: t0}
	f.signaal(t, p1)
	f.signaal(t, signaal{partner: "ggz", id: "g-1", at: t0.Add(time.Minute)})
	f.signaal(t, signaal{partner: "wijkteam", id: "w-1", at: t0.Add(2 * time.Minute)})
	f.afgerond(t, "politie", "b-1", p1)
	f.waitEvents(t, 7)
	f.waitIndexed(t, live, 2)
	stop()
	want, wantMembers, err := live.Index().Person(context.Background(), pseudonym)
	if err != nil {
		t.Fatal(err)
	}

	if err := f.RDB.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	rebuilt := f.service(t, "")
	var reported uint64
	n, err := rebuilt.Rebuild(context.Background(), func(done, _ uint64) { reported = done })
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || reported != 4 {
		t.Fatalf("rebuild read %d events (progress %d), want 4", n, reported)
	}
	got, gotMembers, err := rebuilt.Index().Person(context.Background(), pseudonym)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || !slices.Equal(gotMembers, wantMembers) {
		t.Fatalf("rebuilt %+v %v, want %+v %v", got, gotMembers, want, wantMembers)
	}
	f.waitEvents(t, 7) // the rebuild published nothing
}

func TestRedisDownHoldsEvents(t *testing.T) {
	t.Parallel()
	f, s := startIndexed(t, redistest.WithAOF())
	f.Redis.Stop()
	f.signaal(t, signaal{partner: "ggz", id: "g-1", at: t0.Add(time.Hour)})
	deadline := time.Now().Add(10 * time.Second)
	for s.Ready() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.Ready() {
		t.Fatal("ready while Redis is down")
	}
	f.Redis.Restart(t)
	by := f.waitEvents(t, 3)
	wantAbout(t, by, "ggz", []string{"politie"}, []string{"g-1"})
}

func TestUnindexableEventIsSkipped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s, _ := f.start(t)
	ev := signaal{partner: "politie", id: "p-1", at: t0, bsn: "999993653"}.event()
	ev["subject"] = "not-a-pseudonym"
	f.Env.StoreEvent(t, "politie", ev)
	f.signaal(t, signaal{partner: "ggz", id: "g-1", at: t0})
	f.waitIndexed(t, s, 1)
	if !strings.Contains(f.Logs.String(), "event cannot be indexed; skipped") {
		t.Fatalf("no log line for the unindexable signaal:\n%s", f.Logs.String())
	}
}

// TestReplicas: two replicas share the consumer and take events
// concurrently; every person still gets each samenloop event once.
func TestReplicas(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const persons = 30
	for i := range persons {
		for _, p := range []string{"politie", "ggz", "wijkteam"} {
			ev := signaal{partner: p, id: fmt.Sprintf("%s-%d", p, i), at: t0, bsn: "999993653"}.event()
			ev["subject"] = fmt.Sprintf("%064x", i+1)
			f.Env.StoreEvent(t, p, ev)
		}
	}
	for _, durable := range []string{"", ""} {
		s, err := samenloop.New(samenloop.Config{
			ServiceConfig: projector.ServiceConfig{Region: f.Region, JetStream: f.Env.JS, Redis: f.RDB, Now: f.Clock.Now, Durable: durable},
			MaxAckPending: 64,
		})
		if err != nil {
			t.Fatal(err)
		}
		runtest.Start(t, "samenloop replica", s.Run)
	}
	// Per person: two partners make a samenloop (3 events), the third
	// joins them (4), whatever the order.
	deadline := time.Now().Add(30 * time.Second)
	for len(f.Env.Messages(t, events.StreamEvents)) < persons*(3+7) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	perPerson := map[string]int{}
	for _, ev := range f.Env.Produced(t, events.TypeSamenloop) {
		perPerson[ev.Subject()]++
	}
	if len(perPerson) != persons {
		t.Fatalf("samenloop events for %d persons, want %d", len(perPerson), persons)
	}
	for person, n := range perPerson {
		if n != 7 {
			t.Fatalf("person %s…: %d samenloop events, want 7", person[:8], n)
		}
	}
}

// TestPersonsGauge: ketenbus_samenloop_persons counts the persons in the
// index at scrape time, and has no sample (without hanging the scrape)
// while Redis is away, counted in ketenbus_scrape_errors_total.
func TestPersonsGauge(t *testing.T) {
	t.Parallel()
	f, _ := startIndexed(t)
	if got := metrictest.Value(t, f.Metrics, "ketenbus_samenloop_persons", nil); got != 1 {
		t.Fatalf("ketenbus_samenloop_persons = %v with one signaal, want 1", got)
	}
	redisErrors := map[string]string{"source": scrape.Redis}
	if got := metrictest.Value(t, f.Metrics, scrape.ErrorsName, redisErrors); got != 0 {
		t.Fatalf("%s = %v while Redis answers, want 0", scrape.ErrorsName, got)
	}

	f.Redis.Stop()
	metrictest.WantUnanswered(t, f.Metrics, scrape.Redis, 1, "ketenbus_samenloop_persons")
}
