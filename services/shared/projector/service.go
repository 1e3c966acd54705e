package projector

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/svcmain"
)

// ServiceConfig is the part of the Config of a service that keeps a
// projection of EVENTS in Redis (the escalator, samenloop detection)
// that every such service has. The service embeds it in its own Config
// and calls SetDefaults and Validate from its own.
type ServiceConfig struct {
	// Region is the region config; required.
	Region *region.Config
	// JetStream is where EVENTS is read and the service's events are
	// written; required.
	JetStream jetstream.JetStream
	// Redis keeps the projection; required.
	Redis redis.UniversalClient
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Durable is the service's consumer on EVENTS; replicas share it.
	// Default the service's own (SetDefaults).
	Durable string
	// CheckInterval is how often the service looks, besides at start,
	// after Redis came back and whenever a write finds it missing,
	// whether the projection in Redis is complete and holds every event
	// its consumer acknowledged. Default 10s.
	CheckInterval time.Duration
	// RebuildLock is how long the lock of a rebuild lasts without
	// renewal: how long the others wait for a rebuilder that died.
	// Default 30s.
	RebuildLock time.Duration
	// Logger; never receives data fields or pseudonyms. Default
	// slog.Default().
	Logger *slog.Logger
	// Metrics registry; default a new one.
	Metrics *prometheus.Registry
}

// SetDefaults fills in the defaults of the fields left zero; durable is
// the default of Durable.
func (c *ServiceConfig) SetDefaults(durable string) {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Durable == "" {
		c.Durable = durable
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = 10 * time.Second
	}
	if c.RebuildLock == 0 {
		c.RebuildLock = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
}

// Validate reports, each error starting with "service: ", what is
// missing or out of range. The service joins the errors of its own
// fields to it (errors.Join).
func (c ServiceConfig) Validate(service string) error {
	var errs []error
	if c.Region == nil {
		errs = append(errs, errors.New(service+": Region is missing"))
	}
	if c.JetStream == nil {
		errs = append(errs, errors.New(service+": JetStream is missing"))
	}
	if c.Redis == nil {
		errs = append(errs, errors.New(service+": Redis is missing"))
	}
	if c.CheckInterval < 0 || c.RebuildLock < 0 {
		errs = append(errs, errors.New(service+": CheckInterval and RebuildLock must not be negative"))
	}
	return errors.Join(errs...)
}

// Projector returns p with what c holds for it filled in: JetStream,
// Redis, Now, Logger, Metrics, RebuildLock and CheckInterval.
func (c ServiceConfig) Projector(p Config) Config {
	p.JetStream, p.Redis, p.Now = c.JetStream, c.Redis, c.Now
	p.Logger, p.Metrics = c.Logger, c.Metrics
	p.RebuildLock, p.CheckInterval = c.RebuildLock, c.CheckInterval
	return p
}

// Main describes to svcmain a service that keeps a projection of EVENTS
// in Redis: it connects as the NATS user name, serves /metrics, /healthz
// and /readyz on metricsAddr unless --metrics-addr says otherwise, needs
// Redis (--redis-url), and is built by build from the region config,
// connections, logger and registry svcmain prepared.
func Main[R svcmain.Runner](name, metricsAddr string, build func(ServiceConfig) (R, error)) svcmain.Service {
	return svcmain.Service{Name: name, MetricsAddr: metricsAddr, Redis: svcmain.RedisRequired,
		Start: func(_ context.Context, env *svcmain.Env) (svcmain.Runner, error) {
			return svcmain.AsRunner(build(ServiceConfig{
				Region: env.Region, JetStream: env.JetStream, Redis: env.Redis, Logger: env.Logger, Metrics: env.Metrics,
			}))
		}}
}
