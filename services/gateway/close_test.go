package gateway_test

import (
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/ketenbus/ketenbus/events"
)

// batchWorkers counts the goroutines committing atomic batches.
func batchWorkers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "gateway.(*jetStreamStore).batchWorker")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestCloseStopsBatchWorkers: Close returns only once the batch workers
// stopped, so a process that closes its gateway leaves none behind. Not
// parallel: it counts the goroutines of the whole test binary.
func TestCloseStopsBatchWorkers(t *testing.T) {
	before := batchWorkers()
	f := start(t)
	if resp, body := f.post(t, events.ContentTypeBatch, tokenPolitie, []any{signaal("c-1"), signaal("c-2")}); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if batchWorkers() <= before {
		t.Fatal("the gateway runs no batch workers")
	}
	f.srv.Close()
	f.gateway.Close()
	if n := batchWorkers(); n != before {
		t.Fatalf("%d batch workers left after Close, want %d", n-before, 0)
	}
	f.gateway.Close() // a second Close does not panic
}
