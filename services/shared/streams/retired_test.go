package streams_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

// TestWatchRetired: a reader started before any adapter made the bucket
// knows nothing is retired, and follows retirements and resumptions once
// the bucket is there.
func TestWatchRetired(t *testing.T) {
	t.Parallel()
	env := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// streams.Ensure made the bucket; a region set up before it did has none.
	if err := env.JS.DeleteKeyValue(ctx, bus.RetiredBucket); err != nil {
		t.Fatal(err)
	}
	r := streams.WatchRetired(ctx, env.JS, slog.New(slog.NewTextHandler(io.Discard, nil)))
	subs := func() string {
		got, ok := r.Subscriptions()
		if !ok {
			return "not read"
		}
		return fmt.Sprint(got)
	}
	runtest.Eventually(t, 5*time.Second, "nothing retired without a bucket", func() bool { return subs() == "map[]" })

	kv, err := env.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bus.RetiredBucket})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(streams.Retirement{Status: 410, Reason: "http 410"})
	for _, key := range []string{bus.RetiredKey("ggz", "signalen"), bus.RetiredKey("ggz", "aanmeldingen"), bus.RetiredKey("wmo", "signalen")} {
		if _, err := kv.Put(ctx, key, b); err != nil {
			t.Fatal(err)
		}
	}
	runtest.Eventually(t, 5*time.Second, "three retired", func() bool {
		return subs() == "map[ggz:[aanmeldingen signalen] wmo:[signalen]]"
	})
	if got, ok := r.Get("ggz", "signalen"); !ok || got.Status != 410 {
		t.Errorf("Get = %+v, %v; want the retirement", got, ok)
	}
	if err := kv.Delete(ctx, bus.RetiredKey("ggz", "signalen")); err != nil {
		t.Fatal(err)
	}
	runtest.Eventually(t, 5*time.Second, "ggz signalen resumed", func() bool {
		return subs() == "map[ggz:[aanmeldingen] wmo:[signalen]]"
	})
}
