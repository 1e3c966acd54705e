//go:build stress

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// fault is one thing the suite breaks, and mends again before it returns.
type fault struct {
	name   string
	inject func(ctx context.Context) error
}

// Partners the faults of one endpoint pick.
const (
	downPartner    = "ggz"      // its endpoint is down for a minute
	refusedPartner = "wijkteam" // it answers 400 until its DLQ holds dlqLetters
)

// faults returns the suite's faults in the order they are injected.
func faults(st *stack, sinks map[string]*chaosSink) []fault {
	killFor := func(name string, down time.Duration) func(context.Context) error {
		return func(context.Context) error {
			if err := st.kill(name); err != nil {
				return err
			}
			time.Sleep(down)
			return st.start(name)
		}
	}
	return []fault{
		{"none (steady load)", func(context.Context) error { return nil }},
		{"nats-server killed (-9), not the EVENTS leader, restarted after 10 s", func(ctx context.Context) error {
			leader, err := st.leader(ctx, "EVENTS")
			if err != nil {
				return err
			}
			nodes := slices.DeleteFunc([]string{"nats-1", "nats-2", "nats-3"}, func(n string) bool { return n == leader })
			return killFor(nodes[0], 10*time.Second)(ctx)
		}},
		{"nats-server leading EVENTS killed (-9), restarted after 10 s", func(ctx context.Context) error {
			leader, err := st.leader(ctx, "EVENTS")
			if err != nil {
				return err
			}
			return killFor(leader, 10*time.Second)(ctx)
		}},
		{"router killed (-9), restarted after 5 s", killFor("router", 5*time.Second)},
		{"adapter killed (-9), restarted after 5 s", killFor("adapter", 5*time.Second)},
		{"escalator killed (-9) while terms fall due, restarted after 15 s", killFor("escalator", 15*time.Second)},
		{"Redis killed (-9), restarted from its append-only file", killFor("redis", 3*time.Second)},
		{"Redis back empty (killed, its files removed, started)", func(context.Context) error {
			if err := st.kill("redis"); err != nil {
				return err
			}
			dir := filepath.Join(st.l.dir, "redis")
			entries, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
					return err
				}
			}
			return st.start("redis")
		}},
		{downPartner + "'s endpoint down for 60 s", func(context.Context) error {
			sinks[downPartner].stop()
			time.Sleep(60 * time.Second)
			return sinks[downPartner].start("")
		}},
		{fmt.Sprintf("%s answering 400 until its DLQ holds %d letters, then dlq retry --all", refusedPartner, dlqLetters), func(ctx context.Context) error {
			sinks[refusedPartner].refuse.Store(true)
			for {
				n, err := st.dlqLetters(ctx, refusedPartner)
				if err == nil && n >= dlqLetters {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			sinks[refusedPartner].refuse.Store(false)
			_, err := st.ketenbus(ctx, "dlq", "retry", "--partner", refusedPartner, "--all")
			return err
		}},
		{"gateway killed (-9) with batches in flight, restarted after 3 s", killFor("gateway", 3*time.Second)},
	}
}
