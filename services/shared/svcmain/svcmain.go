package svcmain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/httpserve"
	"github.com/ketenbus/ketenbus/services/shared/redact"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/telemetry"
)

// Exit codes of Main.
const (
	ExitOK    = 0 // stopped cleanly after ctx ended, or -h
	ExitError = 1 // could not start, or stopped on its own
	ExitUsage = 2 // wrong flags
)

// drainTimeout bounds how long the NATS connection may take to drain.
const drainTimeout = 10 * time.Second

// RedisUse says whether a service uses Redis.
type RedisUse int

// Uses of Redis.
const (
	// NoRedis: no --redis-url flag.
	NoRedis RedisUse = iota
	// RedisRequired: --redis-url must name a Redis that answers.
	RedisRequired
	// RedisOptional: an empty --redis-url runs the service without Redis;
	// a URL must name a Redis that answers.
	RedisOptional
)

// Service describes the binary of one service.
type Service struct {
	// Name is the service, such as "router": its binary is
	// ketenbus-<Name>, its logs carry service=<Name>, and it connects to
	// NATS as the natsauth user of that name unless --nats-user says
	// otherwise.
	Name string
	// MetricsAddr is the default of --metrics-addr, the listener of
	// /metrics, /healthz and /readyz; empty: none unless the flag sets one
	// (for a service that serves them on its own listener).
	MetricsAddr string
	// Redis says whether the service takes --redis-url.
	Redis RedisUse
	// Listen, when set, is the service's own listen address, such as the
	// gateway's --addr: Main listens on it before it connects, so that a
	// taken port is reported at once, and hands the listener to Start in
	// Env.Listener.
	Listen *Listener
	// Flags, when set, registers the service's own flags; their defaults
	// may come from getenv.
	Flags func(fs *Flags)
	// Start builds the service from env without blocking; Main then calls
	// the Runner's Run with its context. An error stops Main with exit
	// code 1 and is printed as it is, so it should say what to fix.
	Start func(ctx context.Context, env *Env) (Runner, error)
}

// Listener describes the flag of a service's own listen address.
type Listener struct {
	// Flag is the flag without dashes, such as "addr"; Env its
	// environment variable; Default its value without either.
	Flag, Env, Default string
	// Usage is the help of the flag.
	Usage string
}

// Runner is a started service.
type Runner interface {
	// Run runs the service until ctx ends, then returns nil once it
	// stopped cleanly. Returning before ctx ends is a failure.
	Run(ctx context.Context) error
}

// Readier is implemented by a Runner that can tell whether it can do its
// work (Redis answered the last time it was used); /readyz asks it.
type Readier interface {
	Ready() bool
}

// RunFunc is a Runner made of a function.
type RunFunc func(ctx context.Context) error

// Run calls f.
func (f RunFunc) Run(ctx context.Context) error { return f(ctx) }

// Env is what Main hands to Service.Start. The connections belong to
// Main, which closes them after Run returned.
type Env struct {
	// Region is the loaded region config; ConfigPath the file it came from.
	Region     *region.Config
	ConfigPath string
	// Secrets are the region's secrets, every one read from the
	// environment.
	Secrets region.Secrets
	// NATS is the connection, reconnecting forever; JetStream its client.
	NATS      *nats.Conn
	JetStream jetstream.JetStream
	// Redis is nil for NoRedis, and for RedisOptional without a URL.
	Redis redis.UniversalClient
	// Metrics is the service's registry, with the Go and process
	// collectors; the metrics listener serves it.
	Metrics *prometheus.Registry
	// Logger writes JSON to stderr with service=<Name>.
	Logger *slog.Logger
	// Listener is the listener of Service.Listen; nil for a service
	// without one. Once Start returned a Runner, the Runner serves on it
	// and closes it; when Start fails, whoever made the Env closes it.
	Listener net.Listener
	// Dev is true under ketenbus dev, which runs every service in one
	// process on a developer's machine: the monitor then runs open when
	// the region names no way to sign in, where its binary refuses to
	// start.
	Dev bool
}

// AsRunner returns r as a Runner, or the error of the constructor that
// made it: Service.Start written as
//
//	return svcmain.AsRunner(router.New(cfg))
//
// returns no Runner holding a nil pointer.
func AsRunner[R Runner](r R, err error) (Runner, error) {
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Start builds svc on env as Main does once it connected, with svc's own
// flags at their defaults, and returns the Runner without running it: for
// a process that runs several services side by side (ketenbus dev). env
// holds what svc uses: the region and its secrets, JetStream (and NATS),
// Redis unless svc uses none, the registry, the logger, and Env.Listener
// for a Service with Listen. The connections remain the caller's.
func Start(ctx context.Context, svc Service, env *Env) (Runner, error) {
	newFlagSet("ketenbus-"+svc.Name, svc, func(string) string { return "" })
	switch {
	case svc.Listen != nil && env.Listener == nil:
		return nil, fmt.Errorf("%s: no listener for --%s", svc.Name, svc.Listen.Flag)
	case svc.Redis == RedisRequired && env.Redis == nil:
		return nil, fmt.Errorf("%s: no Redis", svc.Name)
	}
	return svc.Start(ctx, env)
}

// redisLog routes go-redis's log, a setting of the process, to the log
// of the first service started.
var redisLog sync.Once

// Main runs the service described by svc with the command-line arguments
// args (without the program name) until ctx ends, and returns the exit
// code: ExitOK after a clean stop, ExitError when it cannot start or stops
// on its own (the reason on one line of stderr), ExitUsage for wrong
// flags. Logs go to stderr as JSON; the help of -h goes to stdout.
func Main(ctx context.Context, svc Service, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	prog := "ketenbus-" + svc.Name
	opts, code, ok := parseFlags(prog, svc, args, getenv, stdout, stderr)
	if !ok {
		return code
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.logLevel)); err != nil {
		fmt.Fprintf(stderr, "%s: --log-level %q is not debug, info, warn or error\n", prog, opts.logLevel)
		return ExitUsage
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})).With(slog.String("service", svc.Name))
	redisLog.Do(func() { redis.SetLogger(redisLogger{logger}) })
	if err := run(ctx, prog, svc, opts, getenv, logger); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return ExitError
	}
	return ExitOK
}

// run starts the service and waits until it stopped.
func run(ctx context.Context, prog string, svc Service, o *options, getenv func(string) string, logger *slog.Logger) error {
	env := &Env{ConfigPath: o.config, Logger: logger}
	var err error
	if env.Region, env.Secrets, err = loadRegion(o.config, getenv); err != nil {
		return err
	}

	// Traces go out over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and
	// nowhere otherwise. Set up before the service takes the provider.
	stopTracing, err := telemetry.Start(ctx, prog, logger)
	if err != nil {
		return err
	}
	defer stopTracing()

	// Take the listen addresses first, so a taken port is reported before
	// anything connects.
	var metricsLn net.Listener
	if o.metricsAddr != "" {
		if metricsLn, err = Listen(o.metricsAddr, "--metrics-addr", "KETENBUS_METRICS_ADDR"); err != nil {
			return err
		}
		defer func() {
			if metricsLn != nil {
				_ = metricsLn.Close()
			}
		}()
	}
	if l := svc.Listen; l != nil {
		if env.Listener, err = Listen(o.listenAddr, "--"+l.Flag, l.Env); err != nil {
			return err
		}
		defer func() {
			if env.Listener != nil {
				_ = env.Listener.Close()
			}
		}()
	}

	nc, closed, err := connectNATS(o, prog, logger)
	if err != nil {
		return err
	}
	defer func() {
		if err := nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			nc.Close()
		}
		select {
		case <-closed:
		case <-time.After(drainTimeout):
			nc.Close()
		}
	}()
	env.NATS = nc
	if env.JetStream, err = jetstream.New(nc); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	logger.Info("connected to NATS", slog.String("url", redact.URL(nc.ConnectedUrl())), slog.String("user", o.natsUser))

	if svc.Redis != NoRedis && (o.redisURL != "" || svc.Redis == RedisRequired) {
		rdb, err := connectRedis(ctx, o.redisURL)
		if err != nil {
			return err
		}
		defer func() { _ = rdb.Close() }()
		env.Redis = rdb
		logger.Info("connected to Redis", slog.String("addr", rdb.Options().Addr))
	}

	env.Metrics = prometheus.NewRegistry()
	env.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	runner, err := svc.Start(ctx, env)
	if err != nil {
		return err
	}
	env.Listener = nil // the runner's now

	rctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		stopErrs []error
	)
	// part runs one part of the service: one that stops before ctx ended
	// stops the others, and its error, prefixed with prefix, becomes
	// Main's.
	part := func(prefix string, run func(ctx context.Context) error) {
		wg.Go(func() {
			err := run(rctx)
			switch {
			case ctx.Err() != nil: // stopping
				if err != nil {
					mu.Lock()
					stopErrs = append(stopErrs, fmt.Errorf("stop: %s%w", prefix, err))
					mu.Unlock()
				}
			case rctx.Err() != nil: // another part failed
			default:
				if err == nil {
					err = errors.New(svc.Name + " stopped on its own")
				}
				fail(explain(fmt.Errorf("%s%w", prefix, err)))
			}
		})
	}
	part("", runner.Run) // its errors name it
	if metricsLn != nil {
		srv := metricsServer(env, runner)
		ln := metricsLn
		metricsLn = nil
		logger.Info("metrics listening", slog.String("addr", ln.Addr().String()))
		part("metrics listener: ", func(ctx context.Context) error { return httpserve.Serve(ctx, srv, ln) })
	}
	logger.Info("started")
	wg.Wait()
	if ctx.Err() == nil {
		err := context.Cause(rctx)
		logger.Error("stopped", slog.String("error", err.Error()))
		return err
	}
	if err := errors.Join(stopErrs...); err != nil {
		logger.Error("stopped with errors", slog.String("error", err.Error()))
		return err
	}
	logger.Info("stopped")
	return nil
}

// loadRegion loads the region config and reads every secret it names.
// Secrets are never generated here: every process of the region must read
// the same ones.
func loadRegion(path string, getenv func(string) string) (*region.Config, region.Secrets, error) {
	if path == "" {
		return nil, region.Secrets{}, errors.New("no region config: pass --config or set KETENBUS_CONFIG")
	}
	cfg, err := region.Load(path)
	if err != nil {
		if _, ok := errors.AsType[*region.ProblemsError](err); ok {
			return nil, region.Secrets{}, err
		}
		return nil, region.Secrets{}, fmt.Errorf("%w (pass --config or set KETENBUS_CONFIG)", err)
	}
	secrets, generated, err := cfg.ResolveSecrets(getenv)
	if err != nil {
		return nil, region.Secrets{}, err
	}
	if len(generated) > 0 {
		names := slices.Sorted(func(yield func(string) bool) {
			for name := range generated {
				if !yield(name) {
					return
				}
			}
		})
		return nil, region.Secrets{}, fmt.Errorf("%s: environment variables not set: %s; every service of the region must read the same secrets, so they are generated only by ketenbus dev (which keeps them in .ketenbus/demo.env): set them",
			path, strings.Join(names, ", "))
	}
	return cfg, secrets, nil
}

// Listen listens on addr; the error names the flag and the variable that
// set it.
func Listen(addr, flagName, envName string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (pass another %s or set %s)", addr, err, flagName, envName)
	}
	return ln, nil
}

// explain adds what to do to errors an operator can fix.
func explain(err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("%w; the services never create streams: create them as the NATS admin user with `ketenbus streams ensure` (deploy/services.md) before starting the services", err)
	}
	return err
}

// Exit is the whole main of a service binary: Main with the process's
// arguments, environment and standard streams, stopped by SIGINT or
// SIGTERM, and os.Exit with its code.
func Exit(svc Service) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, svc, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
