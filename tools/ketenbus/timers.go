package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/region"
)

// connFlags are the connection flags of the operations commands, each
// with an environment variable.
type connFlags struct {
	config   string
	natsURL  string
	natsCred string
	redisURL string
}

func (c *connFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&c.config, "config", envOr("KETENBUS_CONFIG", "deploy/examples/region.yaml"), "region config file (env KETENBUS_CONFIG)")
	fl.StringVar(&c.natsURL, "nats-url", envOr("KETENBUS_NATS_URL", nats.DefaultURL), "NATS server URL (env KETENBUS_NATS_URL)")
	fl.StringVar(&c.natsCred, "nats-creds", os.Getenv("KETENBUS_NATS_CREDS"), "NATS credentials file (env KETENBUS_NATS_CREDS)")
	fl.StringVar(&c.redisURL, "redis-url", envOr("KETENBUS_REDIS_URL", "redis://127.0.0.1:6379"), "Redis URL (env KETENBUS_REDIS_URL)")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func (c *connFlags) connect(ctx context.Context) (*region.Config, *nats.Conn, jetstream.JetStream, *redis.Client, error) {
	reg, err := region.Load(c.config)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var opts []nats.Option
	if c.natsCred != "" {
		opts = append(opts, nats.UserCredentials(c.natsCred))
	}
	nc, err := nats.Connect(c.natsURL, opts...)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("connect to NATS at %s: %w (pass --nats-url)", c.natsURL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, nil, nil, err
	}
	ro, err := redis.ParseURL(c.redisURL)
	if err != nil {
		nc.Close()
		return nil, nil, nil, nil, fmt.Errorf("--redis-url: %w", err)
	}
	rdb := redis.NewClient(ro)
	if err := rdb.Ping(ctx).Err(); err != nil {
		nc.Close()
		_ = rdb.Close()
		return nil, nil, nil, nil, fmt.Errorf("connect to Redis at %s: %w (pass --redis-url)", ro.Addr, err)
	}
	return reg, nc, js, rdb, nil
}

func newTimersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "timers",
		Short: "Inspect and rebuild the escalation timers",
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
			if !yes {
				ok, err := confirm(cmd.InOrStdin(), cmd.ErrOrStderr(), "This replaces every pending escalation timer in Redis. Continue?")
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				if !ok {
					return &exitError{code: 1, err: errors.New("not rebuilt")}
				}
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

// confirm asks a yes/no question on a terminal; without one it refuses,
// saying which flag to pass.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	if f, ok := in.(*os.File); !ok || !isTerminal(f) {
		return false, errors.New("not asking without a terminal: pass --yes to confirm")
	}
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress draws a one-line progress bar with rate and ETA on a terminal,
// and nothing elsewhere.
type progress struct {
	out   io.Writer
	label string
	start time.Time
	last  time.Time
	on    bool
}

func newProgress(out io.Writer, label string) *progress {
	f, ok := out.(*os.File)
	return &progress{out: out, label: label, start: time.Now(), on: ok && isTerminal(f)}
}

func (p *progress) update(done, total uint64) {
	if !p.on || (time.Since(p.last) < 100*time.Millisecond && done < total) {
		return
	}
	p.last = time.Now()
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	filled := int(frac * width)
	rate := float64(done) / max(time.Since(p.start).Seconds(), 1e-9)
	eta := "?"
	if rate > 0 && total >= done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.out, "\r%s [%s%s] %3.0f%% %d/%d events %.0f/s ETA %s ", p.label,
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100, done, total, rate, eta)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintln(p.out)
	}
}
