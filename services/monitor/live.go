package monitor

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// heartbeat keeps an idle SSE connection (and proxies on the way) open.
const heartbeat = 15 * time.Second

// liveStream sends the events that match ?type= and ?partner= as
// Server-Sent Events (id: the EVENTS sequence, event: ketenbus, data: a
// liveEvent in JSON) until the client goes. ?since=<seq> skips the recent
// events up to that sequence, which the page already shows; a reconnecting
// browser's Last-Event-ID does the same.
func (m *Monitor) liveStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	match := liveMatch(q.Get("type"), q.Get("partner"))
	// A browser reconnecting sends the id of the last message it got.
	var after uint64
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		after, _ = strconv.ParseUint(s, 10, 64)
	} else if s := q.Get("since"); s != "" {
		after, _ = strconv.ParseUint(s, 10, 64)
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	recent, ch, cancel := m.feed.subscribe(match)
	defer cancel()

	send := func(e liveEvent) bool {
		b, err := json.Marshal(e)
		if err != nil {
			return true
		}
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		msg := append(strconv.AppendUint([]byte("id: "), e.Seq, 10), "\nevent: ketenbus\ndata: "...)
		if _, err := w.Write(append(append(msg, b...), '\n', '\n')); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("retry: 2000\n\n"))
	last := after
	for _, e := range recent {
		if e.Seq > last {
			if !send(e) {
				return
			}
			last = e.Seq
		}
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e := <-ch:
			if e.Seq <= last || !match(e) {
				continue
			}
			if !send(e) {
				return
			}
			last = e.Seq
		case <-tick.C:
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
