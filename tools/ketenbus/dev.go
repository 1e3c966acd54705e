package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/redact"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
	"github.com/ketenbus/ketenbus/tools/internal/devstack"
)

// stopTimeout bounds the clean stop after Ctrl-C.
const stopTimeout = 30 * time.Second

type devFlags struct {
	opts     devstack.Options
	logLevel string
}

func newDevCmd() *cobra.Command {
	var f devFlags
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole backbone on this machine",
		Long: `Run every part of ketenbus in one process: the real nats-server with
JetStream (embedded, data under --data-dir), the streams EVENTS, DELIVERY,
DLQ, AUDIT and ACTIVITY, the gateway partners POST events to, the router,
the webhook adapters, the escalator, samenloop detection and the monitor
(the dashboard, on --monitor-addr; open without sign-in unless the region
config sets monitor.token_env or monitor.trusted_header). The monitor also
serves /metrics, the metrics of every service; the gateway's address is the
partners' and serves none. In a demo region every partner also gets a local
webhook sink that logs what it receives.

In a demo region (demo: true in the region config) secrets that are not set
in the environment are generated and kept in <data-dir>/demo.env, so tokens
and pseudonyms stay the same from one start to the next. The demo tokens are
printed at start; 'source <data-dir>/demo.env' puts them in your shell.
Outside a demo region every secret must be set in the environment.

The JetStream store is always encrypted at rest (AES-GCM) with the key in
KETENBUS_JETSTREAM_KEY: generated and kept in demo.env in a demo region,
required elsewhere (make one with: openssl rand -base64 32).

Traces go out over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (protocol
from OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf or grpc), nowhere otherwise.

Logs go to stderr; Ctrl-C stops everything cleanly.`,
		Example: `  # from the repository root
  go run ./tools/ketenbus dev

  # port 4222 taken by another NATS server
  ketenbus dev --nats-addr 127.0.0.1:4223

  # your own region config and data directory
  ketenbus dev --config region.yaml --data-dir /var/tmp/ketenbus`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDev(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.opts.ConfigPath, "config", devstack.DefaultConfigPath, "region config file")
	fl.StringVar(&f.opts.DataDir, "data-dir", "./"+devstack.DefaultDataDir, "directory for the JetStream store and the demo secrets")
	fl.StringVar(&f.opts.GatewayAddr, "gateway-addr", devstack.DefaultGatewayAddr, "listen address of the gateway (port 0: any free port)")
	fl.StringVar(&f.opts.NATSAddr, "nats-addr", devstack.DefaultNATSAddr, "listen address of the embedded nats-server (port 0: any free port)")
	fl.StringVar(&f.opts.MonitorAddr, "monitor-addr", devstack.DefaultMonitorAddr, "listen address of the monitor, the dashboard (port 0: any free port)")
	fl.StringVar(&f.opts.SinkAddr, "sink-addr", devstack.DefaultSinkAddr, "listen address of the demo webhook sinks (demo region only; port 0: any free port)")
	fl.StringVar(&f.opts.RedisURL, "redis-url", "", "Redis for the escalation timers and the samenloop index (empty: an embedded in-memory store that a restart empties)")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	_ = cmd.MarkFlagDirname("data-dir")
	_ = cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		// Not repeated: it may be a token or password pasted without its flag.
		return &usageError{fmt.Errorf("unexpected argument (%d in all); every setting is a flag", len(args))}
	}
	return nil
}

func runDev(cmd *cobra.Command, f devFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return &usageError{fmt.Errorf("--log-level %q: use debug, info, warn or error", f.logLevel)}
	}
	out := cmd.OutOrStdout()
	f.opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	f.opts.Getenv = os.Getenv

	ctx := cmd.Context()
	// Traces go out over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and
	// nowhere otherwise. Set up before the services take the provider.
	stopTracing, err := telemetry.Start(ctx, "ketenbus-dev", f.opts.Logger)
	if err != nil {
		return err
	}
	defer stopTracing()
	stack, err := devstack.Start(ctx, f.opts)
	if err != nil {
		return devStartError(f.opts, err)
	}
	printBanner(out, stack, f.opts)

	var failure error
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\nStopping ketenbus ...")
	case failure = <-stack.Failed():
		fmt.Fprintf(out, "\nketenbus dev: %v; stopping ...\n", failure)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := stack.Close(stopCtx); err != nil {
		return errors.Join(failure, fmt.Errorf("stop: %w", err))
	}
	if failure != nil {
		return failure
	}
	fmt.Fprintln(out, "Stopped.")
	return nil
}

// devStartError turns a start-up error into a message that says what to do.
func devStartError(opts devstack.Options, err error) error {
	var inUse *devstack.AddrInUseError
	if errors.As(err, &inUse) {
		flag, what := "--gateway-addr", "probably another ketenbus dev or web server"
		switch inUse.Part {
		case devstack.PartNATS:
			flag, what = "--nats-addr", "probably another NATS server"
		case devstack.PartSinks:
			flag, what = "--sink-addr", "probably another ketenbus dev"
		case devstack.PartMonitor:
			flag, what = "--monitor-addr", "probably another ketenbus dev"
		}
		return fmt.Errorf("%s is already in use (%s). Pass a free address: ketenbus dev %s %s",
			inUse.Addr, what, flag, devstack.SuggestAddr(inUse.Addr))
	}
	var problems *region.ProblemsError
	if errors.As(err, &problems) {
		return fmt.Errorf("the region config cannot be used:\n%s", indent(problems.Error()))
	}
	if errors.Is(err, os.ErrNotExist) && strings.Contains(err.Error(), "region config") {
		return fmt.Errorf("%w\nRun ketenbus dev from the repository root, or pass the region config with --config FILE", err)
	}
	return err
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// printBanner shows where everything listens, the demo tokens and a
// request to try.
func printBanner(w io.Writer, s *devstack.Stack, opts devstack.Options) {
	fmt.Fprintf(w, "ketenbus dev: region %s is running\n\n", s.Region.Region)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	open := ""
	if s.MonitorOpen {
		open = " (open: no sign-in, dev only)"
	}
	fmt.Fprintf(tw, "  dashboard\t%s/%s\n", s.MonitorURL, open)
	fmt.Fprintf(tw, "  gateway\t%s/v1/events\n", s.GatewayURL)
	fmt.Fprintf(tw, "  health\t%s/healthz, %s/readyz\n", s.GatewayURL, s.GatewayURL)
	fmt.Fprintf(tw, "  metrics\t%s/metrics (every service, served by the monitor)\n", s.MonitorURL)
	fmt.Fprintf(tw, "  nats\t%s (JetStream: EVENTS, DELIVERY, DLQ, AUDIT, ACTIVITY)\n", s.NATSURL)
	fmt.Fprintf(tw, "  redis\t%s (escalation timers, samenloop index)\n", redact.URL(s.RedisURL))
	if s.SinksURL != "" {
		fmt.Fprintf(tw, "  sinks\t%s/<partner> (demo webhook receivers; they log what arrives)\n", s.SinksURL)
	}
	fmt.Fprintf(tw, "  data dir\t%s\n", s.DataDir)
	_ = tw.Flush()

	if !s.Region.Demo {
		fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
		return
	}
	fmt.Fprintf(w, "\nDemo tokens (with the region keys in %s):\n", s.DemoEnvPath)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range s.Region.Partners {
		if tok := s.Secrets.Tokens[p.ID]; tok != "" {
			fmt.Fprintf(tw, "  %s\t%s=%s\n", p.ID, p.TokenEnv, tok)
		}
	}
	_ = tw.Flush()
	if len(s.Generated) > 0 {
		fmt.Fprintf(w, "  (%d secrets generated on this start and kept in demo.env)\n", len(s.Generated))
	}

	if p := examplePartner(s.Region); p != nil {
		fmt.Fprintf(w, "\nTry it:\n\n  source %s\n", shellPath(s.DemoEnvPath))
		fmt.Fprintf(w, "  curl -i %s/v1/events \\\n", s.GatewayURL)
		fmt.Fprintf(w, "    -H \"Authorization: Bearer $%s\" \\\n", p.TokenEnv)
		fmt.Fprintf(w, "    -H 'Content-Type: %s' \\\n", events.ContentTypeStructured)
		fmt.Fprintf(w, "    -d '%s'\n", exampleSignaal(p.Sources[0]))
	}
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
}

// examplePartner is the partner the example request is sent as: politie
// when the region has it, else the first that may publish a signaal.
func examplePartner(cfg *region.Config) *region.Partner {
	if p, ok := cfg.Partner("politie"); ok && canSignal(p) {
		return p
	}
	for i := range cfg.Partners {
		if canSignal(&cfg.Partners[i]) {
			return &cfg.Partners[i]
		}
	}
	return nil
}

func canSignal(p *region.Partner) bool {
	for _, t := range p.Publishes {
		if t == events.TypeSignaal && len(p.Sources) > 0 {
			return true
		}
	}
	return false
}

// exampleSignaal is a signaal about a fictitious person: BSN 111222333
// passes the elfproef but belongs to no one.
func exampleSignaal(source string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":"signaal-0001","source":%q,"type":%q,`+
		`"datacontenttype":"application/json","data":{"bsn":"111222333","categorie":"verward-gedrag",`+
		`"urgentie":"hoog","contactpersoon":{"naam":"A. de Boer"}}}`, source, events.TypeSignaal)
}

// shellPath shortens path to a path relative to the working directory
// when it lies below it.
func shellPath(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}
