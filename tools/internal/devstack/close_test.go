package devstack_test

import (
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// TestCloseStopsTheGateway: closing the stack closes its gateway, as
// ketenbus-gateway does, so no batch worker is left behind. Not parallel:
// it counts the goroutines of the whole test binary.
func TestCloseStopsTheGateway(t *testing.T) {
	before := runtest.Goroutines(batchWorker)
	var logs logtest.Buffer
	s := start(t, t.TempDir(), &logs)
	// A worker is named on its stack once it was first scheduled.
	runtest.Eventually(t, 10*time.Second, "the stack's gateway runs batch workers", func() bool {
		return runtest.Goroutines(batchWorker) > before
	})
	stop(t, s)
	if n := runtest.Goroutines(batchWorker); n != before {
		t.Fatalf("%d gateway batch workers left after Close, want 0", n-before)
	}
}

// batchWorker names the goroutines committing the gateway's atomic batches.
const batchWorker = "gateway.(*jetStreamStore).batchWorker"
