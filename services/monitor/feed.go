package monitor

import (
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/activity"
)

const (
	// recentEvents is how many events the Live page starts with.
	recentEvents = 200
	// recentAttempts is how many attempts a partner page lists.
	recentAttempts = 50
	// maxEscalaties bounds the escalaties kept in memory.
	maxEscalaties = 5000
	// subscriberBuffer is how many events a slow Live page may lag behind
	// before it misses some.
	subscriberBuffer = 256
)

// liveEvent is what the monitor keeps of an event: context attributes,
// never data. It is also the SSE message of the Live page.
type liveEvent struct {
	Seq  uint64    `json:"seq"`
	At   time.Time `json:"-"`
	Time string    `json:"time"`
	// Type is the event name and version, such as "signaal.v1".
	Type      string `json:"type"`
	Partner   string `json:"partner"`
	Ontvanger string `json:"ontvanger,omitempty"`
	// Person is the shortened pseudonym; empty when the event is about
	// nobody.
	Person string `json:"persoon,omitempty"`
}

// escalatie is what the monitor keeps of an escalatie: no personal data
// is in these fields.
type escalatie struct {
	At        time.Time
	Niveau    int
	Ontvanger string
	Reden     string
	// Betreft is the type (name.version) of the escalated event.
	Betreft string
}

// attributes are the context attributes read from a stored event; its data
// is skipped by the decoder.
type attributes struct {
	Type      string    `json:"type"`
	Subject   string    `json:"subject"`
	Time      time.Time `json:"time"`
	Ontvanger string    `json:"ontvanger"`
}

// escalatieData is the part of an escalatie's data the monitor shows.
type escalatieData struct {
	Data struct {
		Niveau    int    `json:"niveau"`
		Ontvanger string `json:"ontvanger"`
		Reden     string `json:"reden"`
		Betreft   struct {
			Type string `json:"type"`
		} `json:"betreft"`
	} `json:"data"`
}

// shortType returns "signaal.v1" for "nl.sociaaldomein.signaal.v1".
func shortType(t string) string {
	if name, version, ok := events.SplitType(t); ok {
		return name + "." + version
	}
	return t
}

// feed keeps what the monitor knows of EVENTS and ACTIVITY since it
// started reading (History back). It is safe for concurrent use.
type feed struct {
	loc *time.Location
	now func() time.Time

	mu         sync.Mutex
	hours      map[int64]map[string]int // hour (unix) → type → events
	recent     []liveEvent
	escalaties []escalatie
	subs       map[chan liveEvent]struct{}
	activity   map[string]*partnerActivity
}

// partnerActivity is what ACTIVITY said about one partner.
type partnerActivity struct {
	attempts []activity.Record // newest last
	failures []time.Time       // failed attempts, newest last
	circuit  string
	since    time.Time
}

func newFeed(loc *time.Location, now func() time.Time) *feed {
	return &feed{loc: loc, now: now, hours: map[int64]map[string]int{},
		subs: map[chan liveEvent]struct{}{}, activity: map[string]*partnerActivity{}}
}

// addEvent reads one message of EVENTS.
func (f *feed) addEvent(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		return
	}
	var a attributes
	if err := json.Unmarshal(m.Data(), &a); err != nil {
		return
	}
	at := a.Time
	if at.IsZero() {
		at = md.Timestamp
	}
	e := liveEvent{
		Seq: md.Sequence.Stream, At: at, Time: at.In(f.loc).Format("15:04:05"),
		Type: shortType(safeID(a.Type)), Partner: events.SubjectPartner(m.Subject()), Ontvanger: safeID(a.Ontvanger),
	}
	if a.Subject != "" {
		e.Person = events.ShortPseudonym(safeID(a.Subject))
	}
	var esc *escalatie
	name, _, _ := events.SplitType(a.Type)
	if name == "escalatie" {
		var d escalatieData
		if json.Unmarshal(m.Data(), &d) == nil {
			esc = &escalatie{At: at, Niveau: d.Data.Niveau, Ontvanger: safeID(d.Data.Ontvanger),
				Reden: safeID(d.Data.Reden), Betreft: shortType(safeID(d.Data.Betreft.Type))}
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	hour := md.Timestamp.Truncate(time.Hour).Unix()
	if f.hours[hour] == nil {
		f.hours[hour] = map[string]int{}
	}
	f.hours[hour][e.Type]++
	for h := range f.hours {
		if h < hour-48*3600 {
			delete(f.hours, h)
		}
	}
	f.recent = append(f.recent, e)
	if len(f.recent) > 2*recentEvents {
		f.recent = append(f.recent[:0], f.recent[len(f.recent)-recentEvents:]...)
	}
	if esc != nil {
		f.escalaties = append(f.escalaties, *esc)
		if len(f.escalaties) > 2*maxEscalaties {
			f.escalaties = append(f.escalaties[:0], f.escalaties[len(f.escalaties)-maxEscalaties:]...)
		}
	}
	for ch := range f.subs {
		select {
		case ch <- e:
		default: // a Live page that does not keep up misses events
		}
	}
}

// addActivity reads one message of ACTIVITY.
func (f *feed) addActivity(m jetstream.Msg) {
	r, err := activity.Decode(m.Data())
	if err != nil || r.Partner == "" {
		return
	}
	// Kept as shown: an event id is the partner's choice, a reason may
	// quote an answer.
	for _, s := range []*string{&r.Subscription, &r.EventID, &r.EventType, &r.Outcome, &r.Reason, &r.Circuit} {
		*s = safeID(*s)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pa := f.activity[r.Partner]
	if pa == nil {
		pa = &partnerActivity{}
		f.activity[r.Partner] = pa
	}
	switch r.Kind {
	case activity.KindCircuit:
		pa.circuit, pa.since = r.Circuit, r.Time
	case activity.KindAttempt:
		pa.attempts = append(pa.attempts, r)
		if len(pa.attempts) > 2*recentAttempts {
			pa.attempts = append(pa.attempts[:0], pa.attempts[len(pa.attempts)-recentAttempts:]...)
		}
		if r.Failed() {
			pa.failures = append(pa.failures, r.Time)
			cut := f.now().Add(-time.Hour)
			i := sort.Search(len(pa.failures), func(i int) bool { return !pa.failures[i].Before(cut) })
			pa.failures = pa.failures[i:]
		}
	}
}

// subscribe returns a channel of new events and the recent ones that
// match, oldest first; cancel ends the subscription.
func (f *feed) subscribe(match func(liveEvent) bool) (recent []liveEvent, ch chan liveEvent, cancel func()) {
	ch = make(chan liveEvent, subscriberBuffer)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.recent {
		if match(e) {
			recent = append(recent, e)
		}
	}
	if len(recent) > recentEvents {
		recent = recent[len(recent)-recentEvents:]
	}
	f.subs[ch] = struct{}{}
	return recent, ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

// hourly returns the events per type of the 24 hours up to now, oldest
// hour first, and the types seen, sorted.
func (f *feed) hourly(now time.Time) (hours []time.Time, counts []map[string]int, types []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	last := now.Truncate(time.Hour)
	for i := 23; i >= 0; i-- {
		h := last.Add(-time.Duration(i) * time.Hour)
		c := map[string]int{}
		for t, n := range f.hours[h.Unix()] {
			c[t] = n
			seen[t] = true
		}
		hours = append(hours, h)
		counts = append(counts, c)
	}
	for t := range seen {
		types = append(types, t)
	}
	sort.Strings(types)
	return hours, counts, types
}

// escalatiesSince returns the escalaties at or after t, newest first.
func (f *feed) escalatiesSince(t time.Time) []escalatie {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []escalatie
	for i := len(f.escalaties) - 1; i >= 0; i-- {
		if f.escalaties[i].At.Before(t) {
			continue
		}
		out = append(out, f.escalaties[i])
	}
	return out
}

// partner returns a copy of what ACTIVITY said about partner, with the
// failures of the last hour before now.
func (f *feed) partner(id string, now time.Time) (attempts []activity.Record, failures int, circuit string, since time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pa := f.activity[id]
	if pa == nil {
		return nil, 0, "", time.Time{}
	}
	cut := now.Add(-time.Hour)
	for _, t := range pa.failures {
		if !t.Before(cut) {
			failures++
		}
	}
	attempts = append(attempts, pa.attempts...)
	if len(attempts) > recentAttempts {
		attempts = attempts[len(attempts)-recentAttempts:]
	}
	return attempts, failures, pa.circuit, pa.since
}

// safeID returns s with every BSN-like number replaced: the attributes
// shown are ids and codes, and a page must never show a BSN even when a
// producer put one where it does not belong.
func safeID(s string) string { return events.RedactBSNs(s) }
