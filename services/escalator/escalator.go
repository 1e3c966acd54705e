package escalator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/outbox"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/timers"
	"github.com/ketenbus/ketenbus/services/shared/werkdagen"
)

// Config configures the escalator.
type Config struct {
	// Region holds the ladder, the Jeugd→Wmo months and the calendar;
	// required.
	Region *region.Config
	// JetStream is where EVENTS is read and escalaties are written; required.
	JetStream jetstream.JetStream
	// Redis keeps the timers; required.
	Redis redis.UniversalClient
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Durable is the escalator's consumer on EVENTS; replicas share it.
	// Default "escalator".
	Durable string
	// PollInterval is how often due timers are claimed. Default 250ms.
	PollInterval time.Duration
	// ClaimBatch is how many due timers one claim takes. Default 500.
	ClaimBatch int
	// Lease is how long a claimed timer is held before another replica may
	// take it over. Default 30s.
	Lease time.Duration
	// RememberFor is how long, at least, a bevestiging that arrived before
	// its event, and a term that ended, are remembered; at least as long
	// as the event's type is kept (region retention). Default 400 days.
	RememberFor time.Duration
	// CheckInterval is how often the escalator looks, besides at start,
	// after Redis came back and whenever a write finds them missing,
	// whether the timers in Redis are complete and hold every event its
	// consumer acknowledged. Default 10s.
	CheckInterval time.Duration
	// RebuildLock is how long the lock of a rebuild lasts without
	// renewal: how long the others wait for a rebuilder that died.
	// Default 30s.
	RebuildLock time.Duration
	// Logger; never receives data fields. Default slog.Default().
	Logger *slog.Logger
	// Metrics registry; default a new one.
	Metrics *prometheus.Registry
}

func (c *Config) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Durable == "" {
		c.Durable = bus.ConsumerEscalator
	}
	if c.PollInterval == 0 {
		c.PollInterval = 250 * time.Millisecond
	}
	if c.ClaimBatch == 0 {
		c.ClaimBatch = 500
	}
	if c.Lease == 0 {
		c.Lease = 30 * time.Second
	}
	if c.RememberFor == 0 {
		c.RememberFor = 400 * 24 * time.Hour
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

// Validate reports a config the escalator cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.Region == nil {
		errs = append(errs, errors.New("escalator: Region is missing"))
	}
	if c.JetStream == nil {
		errs = append(errs, errors.New("escalator: JetStream is missing"))
	}
	if c.Redis == nil {
		errs = append(errs, errors.New("escalator: Redis is missing"))
	}
	if c.ClaimBatch < 1 {
		errs = append(errs, errors.New("escalator: ClaimBatch must be at least 1"))
	}
	if c.CheckInterval < 0 || c.RebuildLock < 0 {
		errs = append(errs, errors.New("escalator: CheckInterval and RebuildLock must not be negative"))
	}
	return errors.Join(errs...)
}

// Escalator is the escalation timer service.
type Escalator struct {
	cfg Config
	// unguarded writes without the projection guard: only views of it
	// write (For): each event's, the rebuild's, and live for firing.
	unguarded *timers.Store
	live      *timers.Store
	proj      *projector.Projector
	ladder    *ladder
	metrics   *metrics
	outbox    *outbox.Outbox
}

// New checks cfg and prepares the calendar and the timer store.
func New(cfg Config) (*Escalator, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	esc := cfg.Region.Escalation
	cal, err := werkdagen.New(werkdagen.Config{
		GoodFriday:    esc.GoodFriday,
		LiberationDay: esc.LiberationDay,
		ClosureDays:   esc.ClosureDays,
	})
	if err != nil {
		return nil, fmt.Errorf("escalator: calendar: %w", err)
	}
	store, err := timers.New(cfg.Redis, timers.Config{Lease: cfg.Lease})
	if err != nil {
		return nil, fmt.Errorf("escalator: %w", err)
	}
	e := &Escalator{
		cfg:       cfg,
		unguarded: store,
		live:      store.For(projection.Live(0)),
		ladder: &ladder{
			levels: esc.Ladder,
			cal:    cal,
			remind: esc.JeugdWmo.RemindMonthsBefore18,
			accept: esc.JeugdWmo.AcceptMonthsBefore18,
		},
		metrics: newMetrics(cfg.Metrics),
		outbox:  outbox.New(outbox.Config{JetStream: cfg.JetStream, Region: cfg.Region, Now: cfg.Now}),
	}
	e.proj = projector.New(projector.Config{
		Service:    "escalator",
		Projection: "escalation timers",
		What:       "the timers",
		JetStream:  cfg.JetStream,
		Redis:      cfg.Redis,
		Keys:       store.Projection(),
		Consumer:   bus.EscalatorConsumerConfig(cfg.Durable),
		Apply: func(ctx context.Context, w projection.Writer, in projector.Input) error {
			return e.apply(ctx, store.For(w), in.Event, in.Sender)
		},
		Note: func(ctx context.Context, w projection.Writer) error { return store.For(w).Note(ctx) },
		Rebuild: func(ctx context.Context, w projection.Writer, from uint64) (projection.Marker, error) {
			return e.replay(ctx, w, RebuildOptions{FromSeq: from}, from == 0)
		},
		Unavailable: timers.ErrUnavailable,
		Invalid:     timers.ErrInvalid,
		Logs: projector.Logs{
			Unreadable: "event unreadable; no term started",
			Invalid:    "event makes no valid timer; no term started",
			Rebuilding: "timers are being rebuilt; the event comes back",
			NotStored:  "timer not stored; the event comes back",
		},
		Size: prometheus.GaugeOpts{
			Name: "ketenbus_escalator_timers_pending",
			Help: "Terms being watched: timers in Redis; no sample while Redis does not answer.",
		},
		Count:         store.Pending,
		Now:           cfg.Now,
		Logger:        cfg.Logger,
		Metrics:       cfg.Metrics,
		RebuildLock:   cfg.RebuildLock,
		CheckInterval: cfg.CheckInterval,
	})
	return e, nil
}

// Store returns the timer store, writing unguarded (for the CLI).
func (e *Escalator) Store() *timers.Store { return e.unguarded }

// Ready reports whether Redis answered the last time it was used.
func (e *Escalator) Ready() bool { return e.proj.Ready() }

// Complete reports whether the timers in Redis were complete at the last
// look; while they are not, no timer fires and events wait.
func (e *Escalator) Complete() bool { return e.proj.Complete() }

// Run consumes EVENTS and fires due timers until ctx ends, then returns
// nil.
func Run(ctx context.Context, cfg Config) error {
	e, err := New(cfg)
	if err != nil {
		return err
	}
	return e.Run(ctx)
}

// Run runs the escalator until ctx ends: it keeps the timers in Redis
// complete (rebuilding them from EVENTS when Redis lost them), fires due
// timers and consumes EVENTS.
func (e *Escalator) Run(ctx context.Context) error { return e.proj.Run(ctx, e.poll) }

// Handle applies one event of EVENTS to the timers. It returns nil (the
// event is acked) only after Redis stored the effect, or that the timers
// hold the event when it has none; while Redis is unreachable it returns
// an error and the event comes back with a delay. While the timers are
// being rebuilt it waits for them (up to projector.HoldFor, then the
// event comes back after a second); an event the rebuild applied is not
// applied again.
func (e *Escalator) Handle(msg *message.Message) error { return e.proj.Handle(msg) }
