package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/projector"
)

func newSamenloopCmd() *cobra.Command {
	return newGroupCmd("samenloop", "Rebuild the samenloop index", newSamenloopRebuildCmd())
}

func newSamenloopRebuildCmd() *cobra.Command {
	var (
		conn   connFlags
		yes    bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the samenloop index in Redis from EVENTS",
		Long: `Rebuild replaces the samenloop index in Redis by the one EVENTS implies: it
clears the index and replays the signalen and bevestigingen stored since the
samenloop window began (now minus samenloop.window_days of the region config)
through the samenloop service's own logic, publishing nothing: no partner
hears of a samenloop again. It holds the rebuild lock in Redis meanwhile:
running samenloop services apply no signaal until it is done, and go on
from the rebuilt index, so they need not be stopped. Another rebuild
running (a service's own, after it found Redis empty) makes it fail and
say so.`,
		Example: `  # after losing Redis: rebuild from the samenloop window of EVENTS
  ketenbus samenloop rebuild --nats-url nats://nats:4222 --redis-url redis://redis:6379 --yes

  # with the region config the services run with
  ketenbus samenloop rebuild --config /etc/ketenbus/region.yaml --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRebuild(cmd, &conn, yes, asJSON, "This replaces the samenloop index in Redis. Continue?",
				func(ctx context.Context, c rebuildConn, progress func(done, total uint64)) (any, string, error) {
					s, err := samenloop.New(samenloop.Config{ServiceConfig: projector.ServiceConfig{Region: c.Region, JetStream: c.JetStream, Redis: c.Redis, Logger: slog.New(slog.DiscardHandler)}})
					if err != nil {
						return nil, "", err
					}
					n, err := s.Rebuild(ctx, progress)
					if err != nil {
						return nil, "", err
					}
					persons, err := s.Index().Persons(ctx)
					if err != nil {
						return nil, "", err
					}
					return samenloopRebuilt{Events: n, Persons: persons},
						fmt.Sprintf("rebuilt the samenloop index from %d events: %d persons with active signalen", n, persons), nil
				})
		},
	}
	conn.register(cmd)
	registerYes(cmd, &yes)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as one JSON line")
	return cmd
}
