package devstack

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ketenbus/ketenbus/services/adapter"
	"github.com/ketenbus/ketenbus/services/escalator"
	"github.com/ketenbus/ketenbus/services/gateway"
	"github.com/ketenbus/ketenbus/services/monitor"
	"github.com/ketenbus/ketenbus/services/router"
	"github.com/ketenbus/ketenbus/services/samenloop"
	"github.com/ketenbus/ketenbus/services/shared/embednats"
	"github.com/ketenbus/ketenbus/services/shared/httpserve"
	"github.com/ketenbus/ketenbus/services/shared/natsauth"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// Defaults of Options.
const (
	DefaultConfigPath  = "deploy/examples/region.yaml"
	DefaultDataDir     = ".ketenbus"
	DefaultGatewayAddr = "127.0.0.1:8080"
	DefaultNATSAddr    = "127.0.0.1:4222"
	DefaultMonitorAddr = monitor.DefaultAddr
)

// JetStreamKeyEnv is the environment variable with the key the embedded
// nats-server encrypts its JetStream store with (AES-GCM, encryption at
// rest): standard base64 of 32 random bytes, the same value production
// puts in `key: $KETENBUS_JETSTREAM_KEY` of deploy/nats/nats-server.conf.
// In a demo region a missing key is generated and kept in DemoEnvFile;
// elsewhere it must be set.
const JetStreamKeyEnv = "KETENBUS_JETSTREAM_KEY"

// jetStreamKeySize is the size in bytes of a JetStream key.
const jetStreamKeySize = 32

// jetStreamKeyHint says how to make a JetStream key.
const jetStreamKeyHint = "make one with: export " + JetStreamKeyEnv + "=\"$(openssl rand -base64 32)\", and keep it: the store cannot be read without it"

// ErrJetStreamKey is matched (errors.Is) by the error Start returns when
// JetStreamKeyEnv is not set outside a demo region, or holds no valid key.
var ErrJetStreamKey = errors.New("no valid JetStream key")

// The parts of the stack that listen on an address, as named by
// AddrInUseError.
const (
	PartGateway = natsauth.UserGateway
	PartNATS    = "nats"
	PartSinks   = "sinks"
	PartMonitor = natsauth.UserMonitor
)

// ErrAddrInUse is matched (errors.Is) by the error Start returns when a
// listen address is taken by another process; the error is an
// *AddrInUseError saying which.
var ErrAddrInUse = errors.New("address already in use")

// AddrInUseError says which listen address of the stack is taken.
type AddrInUseError struct {
	// Part is PartGateway, PartNATS, PartSinks or PartMonitor.
	Part string
	// Addr is the address that was asked for.
	Addr string
	Err  error
}

func (e *AddrInUseError) Error() string {
	return fmt.Sprintf("%s address %s is already in use", e.Part, e.Addr)
}

// Is makes errors.Is(err, ErrAddrInUse) true.
func (e *AddrInUseError) Is(target error) bool { return target == ErrAddrInUse }

func (e *AddrInUseError) Unwrap() error { return e.Err }

// Options configures the stack.
type Options struct {
	// ConfigPath is the region config file. Default DefaultConfigPath.
	ConfigPath string
	// DataDir holds the JetStream store (DataDir/jetstream) and, for a
	// demo region, DemoEnvFile. Created when missing. Default
	// DefaultDataDir.
	DataDir string
	// GatewayAddr is host:port of the gateway; port 0 picks a free port.
	// Default DefaultGatewayAddr.
	GatewayAddr string
	// NATSAddr is host:port of the embedded nats-server; port 0 picks a
	// free port. Default DefaultNATSAddr.
	NATSAddr string
	// SinkAddr is host:port of the demo webhook sinks (demo region only);
	// port 0 picks a free port. Default DefaultSinkAddr.
	SinkAddr string
	// MonitorAddr is host:port of the monitor (the dashboard); port 0
	// picks a free port. Default DefaultMonitorAddr.
	MonitorAddr string
	// RedisURL is the Redis of the escalation timers and the samenloop
	// index; empty starts an embedded Redis-compatible store (both are lost
	// on restart).
	RedisURL string
	// Logger receives the logs of every part. Default slog.Default().
	Logger *slog.Logger
	// Getenv reads the secrets the region config names, and
	// JetStreamKeyEnv. Default os.Getenv.
	Getenv func(string) string
}

func (o *Options) setDefaults() {
	o.ConfigPath = cmp.Or(o.ConfigPath, DefaultConfigPath)
	o.DataDir = cmp.Or(o.DataDir, DefaultDataDir)
	o.GatewayAddr = cmp.Or(o.GatewayAddr, DefaultGatewayAddr)
	o.NATSAddr = cmp.Or(o.NATSAddr, DefaultNATSAddr)
	o.SinkAddr = cmp.Or(o.SinkAddr, DefaultSinkAddr)
	o.MonitorAddr = cmp.Or(o.MonitorAddr, DefaultMonitorAddr)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
}

// Validate reports options the stack cannot start with.
func (o Options) Validate() error {
	var errs []error
	for _, a := range []struct{ name, addr string }{{"gateway address", o.GatewayAddr}, {"nats address", o.NATSAddr}, {"sink address", o.SinkAddr}, {"monitor address", o.MonitorAddr}} {
		if _, port, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not host:port", a.name, a.addr))
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("%s %q: port must be a number from 0 to 65535", a.name, a.addr))
		}
	}
	return errors.Join(errs...)
}

// Stack is a running ketenbus: embedded nats-server, streams, services.
// Its exported fields are set by Start and must not be changed.
type Stack struct {
	// Region is the loaded region config.
	Region *region.Config
	// Secrets are the resolved secrets of the region.
	Secrets region.Secrets
	// Generated names the environment variables whose values were
	// generated by this start (demo region only), in config order, then
	// JetStreamKeyEnv.
	Generated []string
	// DemoEnvPath is the file holding the demo secrets; empty outside a
	// demo region.
	DemoEnvPath string
	// DataDir is the absolute data directory.
	DataDir string
	// GatewayURL is the gateway's base URL, such as http://127.0.0.1:8080
	// (https:// when the region sets gateway.tls).
	GatewayURL string
	// NATSURL is the client URL of the embedded nats-server.
	NATSURL string
	// SinksURL is the base URL of the demo webhook sinks; empty outside a
	// demo region.
	SinksURL string
	// MonitorURL is the base URL of the dashboard.
	MonitorURL string
	// MonitorOpen is true when the dashboard asks nobody to sign in (the
	// region sets neither monitor.token_env nor monitor.trusted_header).
	MonitorOpen bool
	// RedisURL is the Redis the escalator keeps its timers in and the
	// samenloop service its index (embedded when Options.RedisURL was
	// empty).
	RedisURL string

	log     *slog.Logger
	ns      *server.Server
	nc      *nats.Conn
	closed  chan struct{} // closed when nc is closed
	js      jetstream.JetStream
	metrics *prometheus.Registry

	ctx    context.Context // ends when Close starts
	cancel context.CancelFunc
	wg     sync.WaitGroup
	failed chan error

	redisClose []func() error

	// jetStreamKey encrypts the JetStream store at rest.
	jetStreamKey string

	mu         sync.Mutex
	stopErrs   []error
	closeOnce  sync.Once
	closeError error
}

// Start loads the region config, resolves its secrets and the JetStream
// key (in a demo region from the environment, else DataDir/demo.env, else
// generated and added to it), and starts nats-server with its store
// encrypted at rest, the streams and the services. ctx bounds the start-up
// only; the stack runs until Close.
//
// Errors: *region.ProblemsError for a config with mistakes or missing
// secrets; ErrJetStreamKey (wrapped) when JetStreamKeyEnv is missing
// outside a demo region or malformed; *AddrInUseError (matching
// ErrAddrInUse) for a taken address.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	cfg, err := region.Load(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s := &Stack{
		Region:  cfg,
		DataDir: dataDir,
		log:     opts.Logger,
		closed:  make(chan struct{}),
		failed:  make(chan error, 8),
	}
	if err := s.resolveSecrets(opts.Getenv); err != nil {
		return nil, err
	}

	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			_ = s.Close(context.Background())
		}
	}()

	// Take every address before anything starts, so a taken port is
	// reported at once. What is still here when Start fails is closed.
	listeners := map[string]net.Listener{}
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for _, a := range []struct{ part, addr string }{{PartGateway, opts.GatewayAddr}, {PartMonitor, opts.MonitorAddr}, {PartSinks, opts.SinkAddr}} {
		if a.part == PartSinks && !cfg.Demo { // only a demo region delivers to sinks in the stack
			continue
		}
		l, err := net.Listen("tcp", a.addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, &AddrInUseError{Part: a.part, Addr: a.addr, Err: err}
			}
			return nil, fmt.Errorf("%s: listen on %s: %w", a.part, a.addr, err)
		}
		listeners[a.part] = l
	}
	s.GatewayURL = "http://" + listeners[PartGateway].Addr().String()
	if cfg.Gateway.TLS != nil {
		s.GatewayURL = "https://" + listeners[PartGateway].Addr().String()
	}
	s.MonitorURL = "http://" + listeners[PartMonitor].Addr().String()
	s.MonitorOpen = !monitor.RegionAuth(cfg, s.Secrets).HasSignIn()

	if err := s.startNATS(ctx, opts.NATSAddr); err != nil {
		return nil, err
	}
	rdb, err := s.openRedis(opts.RedisURL)
	if err != nil {
		return nil, err
	}
	s.metrics = prometheus.NewRegistry()
	s.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if ln := listeners[PartSinks]; ln != nil {
		pointWebhooksAt(cfg, ln.Addr())
		s.SinksURL = "http://" + ln.Addr().String()
		sinks, err := demoSinks(cfg, s.Secrets, s.log.With("service", "demo-sinks"))
		if err != nil {
			return nil, err
		}
		delete(listeners, PartSinks)
		srv := &http.Server{Handler: sinks, ReadHeaderTimeout: 5 * time.Second}
		s.run("demo sinks", func(ctx context.Context) error { return httpserve.Serve(ctx, srv, ln) })
		s.log.Info("demo webhook sinks listening", "url", s.SinksURL)
	}

	// The services as their binaries run them, sharing one connection,
	// one Redis and one registry.
	for _, svc := range services() {
		env := &svcmain.Env{
			Region:     cfg,
			ConfigPath: opts.ConfigPath,
			Secrets:    s.Secrets,
			NATS:       s.nc,
			JetStream:  s.js,
			Metrics:    s.metrics,
			Logger:     s.log.With("service", svc.Name),
			Listener:   listeners[svc.Name],
			Dev:        true,
		}
		if svc.Redis != svcmain.NoRedis {
			env.Redis = rdb
		}
		r, err := svcmain.Start(ctx, svc, env)
		if err != nil {
			return nil, err
		}
		delete(listeners, svc.Name) // the runner's now
		s.run(svc.Name, r.Run)
	}
	return s, nil
}

// services are the services of the stack in the order they start, each
// the value its binary runs. The parts that listen are named after their
// service.
func services() []svcmain.Service {
	return []svcmain.Service{gateway.Main(), router.Main(), escalator.Main(), samenloop.Main(), adapter.Main(), monitor.Main()}
}

// resolveSecrets reads the secrets and the JetStream key; in a demo
// region it reads and keeps them in DemoEnvFile, generating what is
// missing.
func (s *Stack) resolveSecrets(getenv func(string) string) error {
	if !s.Region.Demo {
		secrets, _, err := s.Region.ResolveSecrets(getenv)
		s.Secrets = secrets
		if err != nil {
			return err
		}
		key := strings.TrimSpace(getenv(JetStreamKeyEnv))
		if key == "" {
			return fmt.Errorf("%w: environment variable %s is not set; ketenbus dev keeps the JetStream store encrypted at rest with it (%s)",
				ErrJetStreamKey, JetStreamKeyEnv, jetStreamKeyHint)
		}
		if err := checkJetStreamKey(key); err != nil {
			return err
		}
		s.jetStreamKey = key
		return nil
	}
	s.DemoEnvPath = filepath.Join(s.DataDir, DemoEnvFile)
	kept, err := KeepSecrets(s.Region, SecretsFile{
		Path: s.DemoEnvPath,
		Header: []string{
			fmt.Sprintf("Secrets of the demo region %q, kept by `ketenbus dev` so that tokens and", s.Region.Region),
			"pseudonyms stay the same from one start to the next. Load them with:",
			"    source " + s.DemoEnvPath,
			"Delete this file to start over with new secrets: every pseudonym changes.",
			JetStreamKeyEnv + " encrypts the JetStream store next to this file: delete the store",
			"with this file, or it can no longer be read.",
		},
		// The JetStream key comes last: it is the stack's, not the region's.
		Extra: []Secret{JetStreamKey},
	}, getenv)
	if err != nil {
		return err
	}
	s.Secrets = kept.Secrets
	s.Generated = kept.Generated
	s.jetStreamKey = kept.Values[JetStreamKeyEnv]
	if len(s.Generated) > 0 {
		s.log.Info("demo secrets generated", "count", len(s.Generated), "file", s.DemoEnvPath)
	}
	return nil
}

// JetStreamKey is the secret JetStreamKeyEnv: standard base64 of 32
// random bytes.
var JetStreamKey = Secret{Env: JetStreamKeyEnv, Generate: newJetStreamKey, Check: checkJetStreamKey}

// newJetStreamKey returns 32 random bytes in standard base64.
func newJetStreamKey() string {
	b := make([]byte, jetStreamKeySize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics instead)
	return base64.StdEncoding.EncodeToString(b)
}

// checkJetStreamKey reports a key that is not standard base64 of 32 bytes,
// naming the variable, never the value.
func checkJetStreamKey(key string) error {
	b, err := base64.StdEncoding.DecodeString(key)
	switch {
	case err != nil:
		return fmt.Errorf("%w: environment variable %s is not standard base64 (%s)", ErrJetStreamKey, JetStreamKeyEnv, jetStreamKeyHint)
	case len(b) != jetStreamKeySize:
		return fmt.Errorf("%w: environment variable %s holds %d bytes, not %d (%s)", ErrJetStreamKey, JetStreamKeyEnv, len(b), jetStreamKeySize, jetStreamKeyHint)
	}
	return nil
}

func (s *Stack) startNATS(ctx context.Context, addr string) error {
	storeDir := filepath.Join(s.DataDir, "jetstream")
	entries, _ := os.ReadDir(storeDir)
	hadStore := len(entries) > 0
	ns, err := embednats.Start(embednats.Config{
		Addr:          addr,
		StoreDir:      storeDir,
		EncryptionKey: s.jetStreamKey,
		Logger:        s.log.With("service", "nats-server"),
	})
	if err != nil {
		if errors.Is(err, embednats.ErrAddrInUse) {
			return &AddrInUseError{Part: PartNATS, Addr: addr, Err: err}
		}
		return err
	}
	s.ns = ns
	s.NATSURL = ns.ClientURL()
	s.log.Info("nats-server started", "url", s.NATSURL, "store", storeDir, "encryption", "AES-GCM")

	nc, err := nats.Connect(s.NATSURL,
		nats.Name("ketenbus dev"),
		nats.MaxReconnects(-1),
		nats.ClosedHandler(func(*nats.Conn) { close(s.closed) }),
	)
	if err != nil {
		return fmt.Errorf("connect to nats-server: %w", err)
	}
	s.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	s.js = js
	if err := streams.Ensure(ctx, js, streams.Config{}); err != nil {
		if hadStore {
			return fmt.Errorf("%w (the JetStream store %s may have been encrypted with another %s: set the key it was written with, or delete the directory to start over)", err, storeDir, JetStreamKeyEnv)
		}
		return err
	}
	// NATS-native partners pull from a durable consumer of their own, as
	// in production (deploy/nats): ketenbus creates it, the partner may
	// only read it.
	if err := natsauth.EnsurePartnerConsumers(ctx, js, s.Region); err != nil {
		return fmt.Errorf("consumers of NATS-native partners: %w", err)
	}
	s.log.Info("streams ready")
	return nil
}

// run starts a component: a function that runs until its context ends and
// then returns nil after stopping cleanly. Returning before that is a
// failure, reported on Failed.
func (s *Stack) run(name string, component func(ctx context.Context) error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := component(s.ctx)
		if s.ctx.Err() != nil { // stopping
			if err != nil {
				s.mu.Lock()
				s.stopErrs = append(s.stopErrs, fmt.Errorf("stop %s: %w", name, err))
				s.mu.Unlock()
			}
			return
		}
		if err == nil {
			err = errors.New("stopped unexpectedly")
		}
		s.log.Error("component failed", "component", name, "error", err.Error())
		s.failed <- fmt.Errorf("%s: %w", name, err)
	}()
}

// JetStream returns the stack's JetStream client.
func (s *Stack) JetStream() jetstream.JetStream { return s.js }

// Metrics returns the Prometheus registry every service of the stack
// registers in; the monitor serves it on /metrics (MonitorURL), the
// gateway does not (its address is the partners').
func (s *Stack) Metrics() *prometheus.Registry { return s.metrics }

// Failed receives an error when a component stops on its own.
func (s *Stack) Failed() <-chan error { return s.failed }

// Close stops the stack in reverse order of start: the services (each
// finishing its work in flight), then the NATS connection (drained), then
// nats-server. It returns once everything stopped, or when ctx ends. It is
// safe to call more than once; later calls return the first result.
func (s *Stack) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeError = s.close(ctx) })
	return s.closeError
}

func (s *Stack) close(ctx context.Context) error {
	var errs []error
	if s.cancel != nil {
		s.cancel()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("stop services: %w", ctx.Err()))
	}
	s.mu.Lock()
	errs = append(errs, s.stopErrs...)
	s.mu.Unlock()

	if s.nc != nil {
		if err := s.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("drain nats connection: %w", err))
			s.nc.Close()
		}
		select {
		case <-s.closed:
		case <-ctx.Done():
			s.nc.Close()
			errs = append(errs, fmt.Errorf("drain nats connection: %w", ctx.Err()))
		}
	}
	for _, c := range s.redisClose {
		if err := c(); err != nil {
			errs = append(errs, fmt.Errorf("close redis: %w", err))
		}
	}
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		s.log.Info("nats-server stopped")
	}
	return errors.Join(errs...)
}

// SuggestAddr returns a free address on the host of addr, trying the ports
// after addr's port; addr itself when none of them is free.
func SuggestAddr(addr string) string {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	port, err := strconv.Atoi(p)
	if err != nil || port == 0 {
		return addr
	}
	for next := port + 1; next <= port+100 && next <= 65535; next++ {
		cand := net.JoinHostPort(host, strconv.Itoa(next))
		if ln, err := net.Listen("tcp", cand); err == nil {
			_ = ln.Close()
			return cand
		}
	}
	return addr
}
