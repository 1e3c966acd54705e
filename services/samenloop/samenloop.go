package samenloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/outbox"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/samenloopindex"
)

// Config configures the samenloop service. Of projector.ServiceConfig,
// Region holds the partners, the window and the regievoerder, JetStream
// is where EVENTS is read and samenloop events are written, Redis keeps
// the index, and Durable defaults to "samenloop".
type Config struct {
	projector.ServiceConfig
	// MaxAckPending bounds events in flight. Default 1: events are applied
	// in the order EVENTS holds them, as a rebuild applies them, so a
	// bevestiging never overtakes its signaal and which partner joins whom
	// is the same live and rebuilt. The index stays correct with more.
	MaxAckPending int
	// ExpireInterval is how often signalen whose window passed are
	// dropped. Default 1m.
	ExpireInterval time.Duration
	// Prefix starts every Redis key of the index. Default
	// "ketenbus:samenloop:".
	Prefix string
}

func (c *Config) setDefaults() {
	c.ServiceConfig.SetDefaults(bus.ConsumerSamenloop)
	if c.MaxAckPending == 0 {
		c.MaxAckPending = 1
	}
	if c.ExpireInterval == 0 {
		c.ExpireInterval = time.Minute
	}
}

// Validate reports a config the service cannot run with.
func (c Config) Validate() error {
	errs := []error{c.ServiceConfig.Validate("samenloop")}
	if c.MaxAckPending < 1 {
		errs = append(errs, errors.New("samenloop: MaxAckPending must be at least 1"))
	}
	if c.ExpireInterval < 0 {
		errs = append(errs, errors.New("samenloop: ExpireInterval is negative"))
	}
	return errors.Join(errs...)
}

// Service detects samenloop.
type Service struct {
	cfg Config
	// unguarded writes without the projection guard: only views of it
	// write (For), each event's and the rebuild's.
	unguarded *samenloopindex.Index
	proj      *projector.Projector
	partners  map[string]region.Partner
	metrics   *metrics
	outbox    *outbox.Outbox

	mu     sync.Mutex
	stream jetstream.Stream // EVENTS, once looked up
}

// New checks cfg and prepares the index.
func New(cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ix, err := samenloopindex.New(cfg.Redis, samenloopindex.Config{
		Prefix: cfg.Prefix,
		Window: time.Duration(cfg.Region.Samenloop.WindowDays) * 24 * time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("samenloop: %w", err)
	}
	s := &Service{cfg: cfg, unguarded: ix, partners: map[string]region.Partner{}, metrics: newMetrics(cfg.Metrics),
		outbox: outbox.New(outbox.Config{JetStream: cfg.JetStream, Region: cfg.Region, Now: cfg.Now})}
	for _, p := range cfg.Region.Partners {
		s.partners[p.ID] = p
	}
	s.proj = projector.New(cfg.Projector(projector.Config{
		Service:    "samenloop",
		Called:     "samenloop service",
		Projection: "samenloop index",
		What:       "the samenloop index",
		Keys:       ix.Projection(),
		Consumer:   bus.SamenloopConsumerConfig(cfg.Durable, cfg.MaxAckPending),
		Apply: func(ctx context.Context, w projection.Writer, in projector.Input) error {
			return s.apply(ctx, ix.For(w), in, true)
		},
		Note: func(ctx context.Context, w projection.Writer) error { return ix.For(w).Note(ctx) },
		Rebuild: func(ctx context.Context, w projection.Writer, from uint64) (projection.Marker, error) {
			return s.replay(ctx, w, from, nil)
		},
		Unavailable: samenloopindex.ErrUnavailable,
		Invalid:     samenloopindex.ErrInvalid,
		Logs: projector.Logs{
			Unreadable: "event unreadable; skipped",
			Invalid:    "event cannot be indexed; skipped",
			Rebuilding: "samenloop index is being rebuilt; the event comes back",
			NotStored:  "samenloop not stored; the event comes back",
		},
		Size: prometheus.GaugeOpts{
			Name: "ketenbus_samenloop_persons",
			Help: "Persons with active signalen in the index; no sample while Redis does not answer.",
		},
		Count: ix.Persons,
	}))
	return s, nil
}

// Run consumes EVENTS and drops expired signalen until ctx ends, then
// returns nil.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// Index returns the index, writing unguarded (for the CLI).
func (s *Service) Index() *samenloopindex.Index { return s.unguarded }

// Ready reports whether Redis answered the last time it was used.
func (s *Service) Ready() bool { return s.proj.Ready() }

// Complete reports whether the index in Redis was complete at the last
// look; while it is not, events wait.
func (s *Service) Complete() bool { return s.proj.Complete() }

// Run runs the service until ctx ends: it keeps the index in Redis
// complete (rebuilding it from EVENTS when Redis lost it), drops expired
// signalen and consumes EVENTS.
func (s *Service) Run(ctx context.Context) error { return s.proj.Run(ctx, s.expireLoop) }

// expireLoop drops expired signalen every ExpireInterval.
func (s *Service) expireLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.ExpireInterval)
	defer t.Stop()
	for {
		if s.proj.Complete() { // else a rebuild is to come, which drops them
			_, err := s.Expire(ctx)
			switch {
			case errors.Is(err, projection.ErrIncomplete):
				s.proj.Lost()
			case err != nil && ctx.Err() == nil:
				s.cfg.Logger.Warn("expired signalen not dropped; trying again", slog.String("error", err.Error()))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Expire drops the signalen whose window passed and returns how many.
// Errors wrap projection.ErrIncomplete while the index is incomplete.
func (s *Service) Expire(ctx context.Context) (int, error) {
	n, err := s.unguarded.For(projection.Live(0)).Expire(ctx, s.cfg.Now(), 1000)
	s.proj.Observe(err)
	s.metrics.removed.WithLabelValues("verlopen").Add(float64(n))
	return n, err
}
