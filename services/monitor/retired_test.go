package monitor_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/monitor/monitortest"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// TestRetiredSubscriptionShown: a subscription an adapter retires shows
// on the overview and the partner page, also when the adapter made the
// bucket after the monitor started, and goes when an operator resumes it
// by deleting its key.
func TestRetiredSubscriptionShown(t *testing.T) {
	t.Parallel()
	reg := accessRegionConfig(t)
	env := natstest.Start(t)
	ctx := context.Background()
	// A region set up before streams.Ensure made the bucket has none until
	// its first adapter starts.
	if err := env.JS.DeleteKeyValue(ctx, bus.RetiredBucket); err != nil {
		t.Fatal(err)
	}
	base := monitortest.Serve(t, monitor.Config{Region: reg, JetStream: env.JS, Auth: monitor.Auth{Open: true}})
	kv, err := env.JS.CreateKeyValue(ctx, streams.RetiredBucketConfig(streams.Config{})) // as an adapter does
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	b, _ := json.Marshal(streams.Retirement{RetiredAt: at, Status: 410, Reason: "http 410"})
	if _, err := kv.Put(ctx, bus.RetiredKey("ggz", "signalen"), b); err != nil {
		t.Fatal(err)
	}
	runtest.Eventually(t, 5*time.Second, "signalen of ggz retired on its page and the overview", func() bool {
		partnerPage := page(t, base, "/partners/ggz")
		overview := page(t, base, "/")
		return strings.Contains(partnerPage, "ingetrokken 24-11-2026 10:30") && strings.Contains(overview, "<td>signalen</td>")
	})
	if err := kv.Delete(ctx, bus.RetiredKey("ggz", "signalen")); err != nil {
		t.Fatal(err)
	}
	runtest.Eventually(t, 5*time.Second, "signalen of ggz active again", func() bool {
		partnerPage := page(t, base, "/partners/ggz")
		return !strings.Contains(partnerPage, "ingetrokken") && strings.Count(partnerPage, "<td>actief</td>") == 2
	})
}
