package gateway

import (
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/ketenbus/ketenbus/services/shared/region"
)

// Defaults of Config.
const (
	DefaultAddr           = "127.0.0.1:8080"
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxBatchEvents = 1000
	DefaultPublishTimeout = 5 * time.Second
	DefaultRetryAfter     = 2 * time.Second
)

// Config configures the gateway.
type Config struct {
	// Addr is the listen address of Run. Default DefaultAddr.
	Addr string
	// Region is the region config; required.
	Region *region.Config
	// Secrets are the region's resolved secrets: the pseudonym key and the
	// partners' tokens (Tokens) or token hashes (TokenHashes).
	Secrets region.Secrets
	// JetStream stores the events; required.
	JetStream jetstream.JetStream
	// Store overrides where events are stored (default: JetStream EVENTS).
	Store Store
	// Logger receives one structured line per refusal and per failure;
	// never a BSN, token or data field. Default slog.Default().
	Logger *slog.Logger
	// Metrics is where the gateway registers its Prometheus metrics.
	// The gateway does not serve them: they name every partner, so the
	// process serves them on a listener of its own, away from the
	// partners' port. Default: a new registry.
	Metrics *prometheus.Registry
	// MaxBodyBytes limits a request body. Default: region gateway.max_body_bytes,
	// else DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxBatchEvents limits the events of one batch. Default DefaultMaxBatchEvents
	// (JetStream's atomic batch limit).
	MaxBatchEvents int
	// PublishTimeout bounds the wait for JetStream. Default DefaultPublishTimeout.
	PublishTimeout time.Duration
	// RetryAfter is what a 503 tells partners to wait. Default DefaultRetryAfter.
	RetryAfter time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// TracerProvider gets a server span per request to /v1/events
	// ("POST /v1/events") and a producer span per event
	// ("gateway.ingest"); default otel.GetTracerProvider(). See package
	// telemetry.
	TracerProvider trace.TracerProvider
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.MaxBodyBytes == 0 && c.Region != nil {
		c.MaxBodyBytes = c.Region.Gateway.MaxBodyBytes
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBatchEvents == 0 {
		c.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TracerProvider == nil {
		c.TracerProvider = otel.GetTracerProvider()
	}
	if c.Store == nil && c.JetStream != nil {
		c.Store = newJetStreamStore(c.JetStream)
	}
}

// Validate reports a config the gateway cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.Region == nil {
		errs = append(errs, errors.New("gateway: Region is missing"))
	}
	if c.JetStream == nil {
		errs = append(errs, errors.New("gateway: JetStream is missing"))
	}
	if len(c.Secrets.PseudonymKey) < 32 {
		errs = append(errs, errors.New("gateway: the pseudonym key is missing or shorter than 32 bytes"))
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("gateway: MaxBodyBytes must be at least 1024"))
	}
	if c.MaxBatchEvents < 1 || c.MaxBatchEvents > 1000 {
		errs = append(errs, errors.New("gateway: MaxBatchEvents must be 1 to 1000"))
	}
	return errors.Join(errs...)
}
