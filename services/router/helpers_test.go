package router_test

import (
	"context"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/testutil/logtest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/natstest"
	"github.com/ketenbus/ketenbus/services/shared/testutil/runtest"
)

const (
	sourcePolitie = "urn:nld:oin:00000009999999990001:systeem:bvh"
	sourceWijk    = "urn:nld:oin:00000009999999990003:systeem:regie"
	pseudonym     = "5f0c6e2d9a0b4c1d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"
)

// storeEvent puts an event on EVENTS as the gateway would.
func storeEvent(t *testing.T, env *natstest.Env, partner, typ, source, id string, data map[string]any, ontvanger string) {
	t.Helper()
	ev := map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": typ,
		"subject": pseudonym, "time": "2026-11-24T09:30:00Z", "datacontenttype": "application/json", "data": data,
	}
	if ontvanger != "" {
		ev["ontvanger"] = ontvanger
	}
	env.StoreEvent(t, partner, ev)
}

func signaal() map[string]any {
	return map[string]any{"bsn": "111222333", "categorie": "overlast", "urgentie": "hoog",
		"toelichting": "Geluidsoverlast", "contactpersoon": map[string]any{"naam": "Wijkagent"}}
}

func startRouter(t *testing.T, env *natstest.Env) (stop func(), logs *logtest.Buffer) {
	t.Helper()
	reg := loadRegion(t, "testdata/region.yaml")
	logger, logs := logtest.New()
	stop = runtest.Start(t, "router", func(ctx context.Context) error {
		return router.Run(ctx, router.Config{Region: reg, JetStream: env.JS, Logger: logger})
	})
	return stop, logs
}

// routedSignaal starts a server and a router, has it route a signaal of
// politie (s-1) to its two deliveries, stops the router and returns the
// server.
func routedSignaal(t *testing.T) *natstest.Env {
	t.Helper()
	env := natstest.Start(t)
	stop, _ := startRouter(t, env)
	storeEvent(t, env, "politie", events.TypeSignaal, sourcePolitie, "s-1", signaal(), "")
	waitDeliveries(t, env, 2)
	stop()
	return env
}

type stored struct {
	partner, subscription, purpose, seq string
	event                               map[string]any
}

// waitDeliveries waits until DELIVERY holds n messages and returns them.
func waitDeliveries(t *testing.T, env *natstest.Env, n int) []stored {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := env.Messages(t, events.StreamDelivery)
		if len(msgs) >= n || time.Now().After(deadline) {
			var out []stored
			for _, m := range msgs {
				var ev map[string]any
				if err := json.Unmarshal(m.Data, &ev); err != nil {
					t.Fatal(err)
				}
				if m.Subject != events.DeliverySubject(m.Header.Get(bus.HeaderPartner)) {
					t.Fatalf("delivery for %s on subject %s", m.Header.Get(bus.HeaderPartner), m.Subject)
				}
				out = append(out, stored{m.Header.Get(bus.HeaderPartner), m.Header.Get(bus.HeaderSubscription),
					m.Header.Get(bus.HeaderPurpose), m.Header.Get(bus.HeaderEventSequence), ev})
			}
			sort.Slice(out, func(i, j int) bool { return out[i].partner+out[i].subscription < out[j].partner+out[j].subscription })
			if len(out) != n {
				t.Fatalf("%d deliveries, want %d: %+v", len(out), n, out)
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loadRegion loads the region config file.
func loadRegion(tb testing.TB, file string) *region.Config {
	tb.Helper()
	reg, err := region.Load(file)
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}
