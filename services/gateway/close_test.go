package gateway_test

import (
	"net/http"
	"testing"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// TestCloseStopsBatchWorkers: Close returns only once the batch workers
// stopped, so a process that closes its gateway leaves none behind. Not
// parallel: it counts the goroutines of the whole test binary.
func TestCloseStopsBatchWorkers(t *testing.T) {
	before := runtest.Goroutines(batchWorker)
	f := start(t)
	if resp, body := f.post(t, events.ContentTypeBatch, tokenPolitie, []any{signaal("c-1"), signaal("c-2")}); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if runtest.Goroutines(batchWorker) <= before {
		t.Fatal("the gateway runs no batch workers")
	}
	f.srv.Close()
	f.gateway.Close()
	if n := runtest.Goroutines(batchWorker); n != before {
		t.Fatalf("%d batch workers left after Close, want %d", n-before, 0)
	}
	f.gateway.Close() // a second Close does not panic
}

// batchWorker names the goroutines committing the gateway's atomic batches.
const batchWorker = "gateway.(*jetStreamStore).batchWorker"
