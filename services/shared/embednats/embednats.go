// Package embednats runs the real nats-server, with JetStream, inside the
// process: for `ketenbus dev` and for tests. Production runs nats-server on
// its own (deploy/nats).
package embednats

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrAddrInUse is returned by Start when the address is taken by another
// process.
var ErrAddrInUse = errors.New("address already in use")

// Config configures an embedded nats-server.
type Config struct {
	// Addr is host:port to listen on; port 0 picks a free port. Default
	// "127.0.0.1:0".
	Addr string
	// StoreDir is where JetStream keeps its data. Required.
	StoreDir string
	// MaxPayload is the largest message in bytes; default 8 MiB.
	MaxPayload int32
	// EncryptionKey, when set, turns on JetStream encryption at rest with
	// AES-GCM: every stream and consumer file under StoreDir, messages and
	// metadata alike, is encrypted with keys derived from it. The same key
	// must be given on every start to read the store again; a store
	// written without a key is converted on the first start with one.
	EncryptionKey string
	// Logger receives the server's notices and errors; nil keeps it quiet.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for the server; default 10s.
	ReadyTimeout time.Duration
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = 8 << 20
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 10 * time.Second
	}
}

// Validate reports a config that cannot start.
func (c Config) Validate() error {
	if c.StoreDir == "" {
		return errors.New("embednats: StoreDir is missing")
	}
	if _, _, err := splitAddr(c.Addr); err != nil {
		return fmt.Errorf("embednats: address %q: %w", c.Addr, err)
	}
	return nil
}

// Start starts nats-server with JetStream and waits until it accepts
// connections. Errors: ErrAddrInUse (wrapped) when the address is taken.
func Start(cfg Config) (*server.Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	host, port, _ := splitAddr(cfg.Addr)
	if port != 0 {
		// nats-server reports a taken port only in its log; find out first.
		l, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, ErrAddrInUse)
			}
			return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
		_ = l.Close()
	}
	opts := &server.Options{
		ServerName:         "ketenbus-embedded",
		Host:               host,
		Port:               port,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		MaxPayload:         cfg.MaxPayload,
		NoSigs:             true,
		NoLog:              cfg.Logger == nil,
		JetStreamKey:       cfg.EncryptionKey,
		JetStreamMaxMemory: 256 << 20,
	}
	if cfg.EncryptionKey != "" {
		// nats-server's default cipher is ChaCha20-Poly1305; ketenbus uses
		// AES-GCM everywhere (field encryption, deploy/nats).
		opts.JetStreamCipher = server.AES
	}
	if port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats-server: %w", err)
	}
	if cfg.Logger != nil {
		s.SetLoggerV2(&logger{l: cfg.Logger}, false, false, false)
	}
	go s.Start()
	if !s.ReadyForConnections(cfg.ReadyTimeout) {
		s.Shutdown()
		return nil, fmt.Errorf("nats-server on %s not ready after %s", cfg.Addr, cfg.ReadyTimeout)
	}
	return s, nil
}

func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number from 0 to 65535", p)
	}
	return host, port, nil
}

// logger adapts slog to the nats-server logger.
type logger struct{ l *slog.Logger }

func (g *logger) Noticef(format string, v ...any) { g.l.Debug(fmt.Sprintf(format, v...)) }
func (g *logger) Warnf(format string, v ...any)   { g.l.Warn(fmt.Sprintf(format, v...)) }
func (g *logger) Fatalf(format string, v ...any)  { g.l.Error(fmt.Sprintf(format, v...)) }
func (g *logger) Errorf(format string, v ...any)  { g.l.Error(fmt.Sprintf(format, v...)) }
func (g *logger) Debugf(format string, v ...any)  {}
func (g *logger) Tracef(format string, v ...any)  {}
