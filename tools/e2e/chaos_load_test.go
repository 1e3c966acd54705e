//go:build stress

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ketenbus/ketenbus/events/bsntest"
)

const (
	typeSignaal    = "nl.sociaaldomein.signaal.v1"
	typeAanmelding = "nl.sociaaldomein.aanmelding.v1"
	typeEscalatie  = "nl.sociaaldomein.escalatie.v1"
)

// sent is one event the load sent, and what became of it at the gateway.
type sent struct {
	key       string // source + " " + id
	typ       string
	ontvanger string // aanmelding: the partner it is referred to
	// short: an aanmelding whose term (uiterlijk) falls due during the
	// run, so an escalatie is expected.
	short    bool
	due      time.Time
	accepted time.Time // when the first 202 came; zero: never accepted
	// duplicate: a later attempt of an event whose earlier attempt got
	// no final answer was answered "duplicate": it had been stored then.
	duplicate bool
}

// load posts a steady mix of signalen and aanmeldingen to the gateway as
// one publishing partner: single events and batches, each request sent
// again, unchanged, until it gets an answer other than 429, 5xx or none.
type load struct {
	gateway, token, source string
	// receivers are the partners aanmeldingen are referred to, in turn.
	receivers []string
	rate      float64 // events per second
	// batch: every how many requests one is a batch of batchSize events.
	batchEvery, batchSize int
	// shortEvery: every how many aanmeldingen one has a short term,
	// falling due after term.
	shortEvery int
	term       time.Duration
	workers    int

	client *http.Client
	run    string
	bsns   []string

	mu      sync.Mutex
	events  []*sent
	refused []string // answers other than 202, 429, 5xx: a defect
	n       int
	paused  bool
}

func (l *load) init() {
	l.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: l.workers}}
	l.run = strconv.FormatInt(time.Now().Unix(), 36)
	l.bsns = bsntest.Seeded(uint64(time.Now().UnixNano()), 500)
}

// request is one POST: its events and body.
type request struct {
	events []*sent
	body   []byte
	batch  bool
}

// next builds the next request.
func (l *load) next(now time.Time, rnd *rand.Rand) request {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := 1
	l.n++
	batch := l.batchEvery > 0 && l.n%l.batchEvery == 0
	if batch {
		size = l.batchSize
	}
	var objs []map[string]any
	var evs []*sent
	for range size {
		seq := len(l.events) + 1
		id := fmt.Sprintf("chaos-%s-%d", l.run, seq)
		s := &sent{key: l.source + " " + id}
		bsn := l.bsns[rnd.IntN(len(l.bsns))]
		contact := map[string]any{"naam": "Chaos Suite (fictief)"}
		ev := map[string]any{"specversion": "1.0", "id": id, "source": l.source,
			"time": now.UTC().Format(time.RFC3339Nano), "datacontenttype": "application/json"}
		if seq%5 == 0 {
			s.typ = typeAanmelding
			s.ontvanger = l.receivers[(seq/5)%len(l.receivers)]
			data := map[string]any{"bsn": bsn, "ontvanger": s.ontvanger, "reden": "Fictieve aanmelding van de chaos suite.", "contactpersoon": contact}
			if (seq/5)%l.shortEvery == 0 {
				s.short, s.due = true, now.Add(l.term)
				data["uiterlijk"] = s.due.UTC().Format(time.RFC3339)
			} else {
				data["reactietermijn"] = map[string]any{"werkdagen": 20}
			}
			ev["data"] = data
		} else {
			s.typ = typeSignaal
			ev["data"] = map[string]any{"bsn": bsn, "categorie": "anders", "urgentie": "laag", "contactpersoon": contact}
		}
		ev["type"] = s.typ
		l.events = append(l.events, s)
		evs = append(evs, s)
		objs = append(objs, ev)
	}
	var body []byte
	if batch {
		body, _ = json.Marshal(objs)
	} else {
		body, _ = json.Marshal(objs[0])
	}
	return request{events: evs, body: body, batch: batch}
}

// pause stops sending new requests (those in flight go on) until resume.
func (l *load) pause(p bool) {
	l.mu.Lock()
	l.paused = p
	l.mu.Unlock()
}

// run sends until ctx ends.
func (l *load) runLoad(ctx context.Context) {
	reqs := make(chan struct{}, l.workers)
	var wg sync.WaitGroup
	for w := range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for range reqs {
				l.send(ctx, l.next(time.Now(), rnd))
			}
		}()
	}
	// One tick per request; a batch carries batchSize events, so the
	// request rate is the event rate over the mean request size.
	mean := 1.0
	if l.batchEvery > 0 {
		mean = (float64(l.batchEvery-1) + float64(l.batchSize)) / float64(l.batchEvery)
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) * mean / l.rate))
	defer tick.Stop()
	defer wg.Wait()
	defer close(reqs)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			l.mu.Lock()
			paused := l.paused
			l.mu.Unlock()
			if paused {
				continue
			}
			select {
			case reqs <- struct{}{}:
			default: // every worker is busy (the gateway is slow or away): the rate drops
			}
		}
	}
}

// send posts r until it gets a final answer or ctx ends.
func (l *load) send(ctx context.Context, r request) {
	ct := "application/cloudevents+json"
	if r.batch {
		ct = "application/cloudevents-batch+json"
	}
	wait := 100 * time.Millisecond
	attempts := 0
	for ctx.Err() == nil {
		attempts++
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.gateway+"/v1/events", bytes.NewReader(r.body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+l.token)
		res, err := l.client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
			res.Body.Close()
			switch {
			case res.StatusCode == http.StatusAccepted:
				l.accept(r, body, attempts > 1)
				return
			case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
				// not stored, or not known to be: send it again
			default:
				l.mu.Lock()
				l.refused = append(l.refused, fmt.Sprintf("%d %s", res.StatusCode, bytes.TrimSpace(body)))
				l.mu.Unlock()
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// accept records the gateway's 202 for r; resent says an earlier attempt
// got no answer, or 429 or 5xx.
func (l *load) accept(r request, body []byte, resent bool) {
	type answer struct {
		Duplicate bool `json:"duplicate"`
	}
	var answers []answer
	if r.batch {
		_ = json.Unmarshal(body, &answers)
	} else {
		var a answer
		_ = json.Unmarshal(body, &a)
		answers = []answer{a}
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, s := range r.events {
		s.accepted = now
		if i < len(answers) && answers[i].Duplicate {
			s.duplicate = true
			if !resent {
				l.refused = append(l.refused, "duplicate answer for an event sent once: "+s.key)
			}
		}
	}
}

// snapshot returns the events sent so far and the unexpected answers.
func (l *load) snapshot() ([]sent, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]sent, len(l.events))
	for i, s := range l.events {
		out[i] = *s
	}
	return out, append([]string(nil), l.refused...)
}
