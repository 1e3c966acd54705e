package main

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/services/escalator"
)

func newTimersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "timers",
		Short: "Rebuild the escalation timers",
	}
	cmd.AddCommand(newTimersRebuildCmd())
	return cmd
}

func newTimersRebuildCmd() *cobra.Command {
	var (
		conn    connFlags
		fromSeq uint64
		since   string
		yes     bool
	)
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the timers in Redis from EVENTS",
		Long: `Rebuild replaces every escalation timer in Redis by the ones EVENTS implies:
it clears them and replays the aanmeldingen, overdrachten, bevestigingen and
escalaties through the escalator's own logic, publishing nothing. Stop the
escalators first, or they keep firing from the half-rebuilt state.`,
		Example: `  # after losing Redis: rebuild from the whole EVENTS stream
  ketenbus timers rebuild --nats-url nats://nats:4222 --redis-url redis://redis:6379 --yes

  # from a stream sequence or a moment
  ketenbus timers rebuild --from-seq 120000 --yes
  ketenbus timers rebuild --since 2026-01-01T00:00:00Z --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := escalator.RebuildOptions{FromSeq: fromSeq}
			if since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					return &usageError{fmt.Errorf("--since %q is not an RFC 3339 time such as 2026-01-01T00:00:00Z", since)}
				}
				opts.Since = t
			}
			if fromSeq > 0 && since != "" {
				return &usageError{errors.New("give --from-seq or --since, not both")}
			}
			if err := confirmRebuild(cmd, yes, "This replaces every pending escalation timer in Redis. Continue?"); err != nil {
				return err
			}
			ctx := cmd.Context()
			reg, nc, js, rdb, err := conn.connect(ctx)
			if err != nil {
				return err
			}
			defer nc.Close()
			defer rdb.Close()
			e, err := escalator.New(escalator.Config{Region: reg, JetStream: js, Redis: rdb, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				return err
			}
			bar := newProgress(cmd.ErrOrStderr(), "rebuild")
			opts.Progress = bar.update
			n, err := e.Rebuild(ctx, opts)
			bar.done()
			if err != nil {
				return err
			}
			pending, err := e.Store().Pending(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rebuilt from %d events: %d timers pending\n", n, pending)
			return nil
		},
	}
	conn.register(cmd)
	cmd.Flags().Uint64Var(&fromSeq, "from-seq", 0, "start at this EVENTS sequence")
	cmd.Flags().StringVar(&since, "since", "", "start at this time (RFC 3339)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
