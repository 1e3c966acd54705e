package escalator_test

import (
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
)

// TestEventMakingNoValidTimerIsSkipped: an aanmelding the timer store
// refuses (an ontvanger holding a NUL byte, which no gateway lets through)
// is logged and acked; the events after it are not held up, and the
// escalator stays ready.
func TestEventMakingNoValidTimerIsSkipped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, posted)
	e, _ := f.start(t)
	f.store(t, "politie", events.TypeAanmelding, sourcePolitie, "bad", posted, map[string]any{
		"bsn": "111222333", "ontvanger": "g\x00z", "reden": "zorgen",
		"contactpersoon": map[string]any{"naam": "Wijkagent"}, "reactietermijn": map[string]any{"werkdagen": 5},
	}, "")
	f.aanmelding(t, "a-1", posted, 5)
	waitTimer(t, e, sourcePolitie, "a-1", true)
	if !e.Ready() {
		t.Error("not ready after an invalid event, though Redis answers")
	}
	if !strings.Contains(f.Logs.String(), "event makes no valid timer") {
		t.Errorf("no log line for the skipped event:\n%s", f.Logs.String())
	}
}
