package escalator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/audit"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/redisx"
	"github.com/ketenbus/ketenbus/services/shared/region"
	"github.com/ketenbus/ketenbus/services/shared/scrape"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/timers"
	"github.com/ketenbus/ketenbus/services/shared/werkdagen"
	"github.com/ketenbus/ketenbus/services/shared/wmjetstream"
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
		c.Durable = "escalator"
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
	keeper    *projection.Keeper
	ladder    *ladder
	metrics   *metrics
	audit     *audit.Writer
	ready     atomic.Bool
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
		audit:   audit.NewWriter(cfg.JetStream, cfg.Region),
	}
	e.keeper = projection.NewKeeper(projection.KeeperConfig{
		Name:  "escalation timers",
		Redis: cfg.Redis,
		Keys:  store.Projection(),
		Rebuild: func(ctx context.Context, w projection.Writer, from uint64) (projection.Marker, error) {
			return e.replay(ctx, w, RebuildOptions{FromSeq: from}, from == 0)
		},
		AckFloor: func(ctx context.Context) (uint64, error) {
			p, _, err := streams.ConsumerPosition(ctx, cfg.JetStream, events.StreamEvents, cfg.Durable)
			return p.Acked, err
		},
		Consumes: func(ctx context.Context, from, to uint64) (bool, error) {
			return streams.Holds(ctx, cfg.JetStream, events.StreamEvents, watched(), from, to)
		},
		InOrder:       true, // MaxAckPending 1
		Observe:       func(err error) { e.observe(redisx.Wrap("read the timers' marker", err, timers.ErrUnavailable)) },
		Now:           cfg.Now,
		Logger:        cfg.Logger,
		Metrics:       e.metrics.projection,
		LockTTL:       cfg.RebuildLock,
		CheckInterval: cfg.CheckInterval,
	})
	cfg.Metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ketenbus_escalator_ready",
		Help: "1 while Redis answers the escalator, 0 while it does not (events are then not acked).",
	}, func() float64 {
		if e.Ready() {
			return 1
		}
		return 0
	}), scrape.NewGauge("ketenbus_escalator_timers_pending",
		"Terms being watched: timers in Redis; no sample while Redis does not answer.",
		scrape.Errors(cfg.Metrics), scrape.Redis,
		func(ctx context.Context) (float64, bool, error) {
			n, err := store.Pending(ctx)
			return float64(n), true, err
		}))
	return e, nil
}

// Store returns the timer store, writing unguarded (for the CLI).
func (e *Escalator) Store() *timers.Store { return e.unguarded }

// Ready reports whether Redis answered the last time it was used.
func (e *Escalator) Ready() bool { return e.ready.Load() }

// Complete reports whether the timers in Redis were complete at the last
// look; while they are not, no timer fires and events wait.
func (e *Escalator) Complete() bool { return e.keeper.Complete() }

// observe notes whether Redis answered; when it answers again after it
// did not, the timers are looked at at once: Redis may be back empty.
func (e *Escalator) observe(err error) {
	if errors.Is(err, timers.ErrUnavailable) {
		e.ready.Store(false)
		return
	}
	if !e.ready.Swap(true) {
		e.keeper.Wake()
	}
}

// Run consumes EVENTS and fires due timers until ctx ends, then returns
// nil.
func Run(ctx context.Context, cfg Config) error {
	e, err := New(cfg)
	if err != nil {
		return err
	}
	return e.Run(ctx)
}

// watched are the EVENTS subjects the escalator reads.
func watched() []string {
	return []string{
		events.EventTypeSubject(events.TypeAanmelding),
		events.EventTypeSubject(events.TypeBevestiging),
		events.EventTypeSubject(events.TypeOverdrachtJeugdWmo),
	}
}

// Run runs the escalator until ctx ends: it keeps the timers in Redis
// complete (rebuilding them from EVENTS when Redis lost them), fires due
// timers and consumes EVENTS.
func (e *Escalator) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { e.keeper.Run(ctx) })
	wg.Go(func() { e.poll(ctx) })
	err := wmjetstream.Consume(ctx, e.cfg.JetStream, events.StreamEvents, jetstream.ConsumerConfig{
		Durable:        e.cfg.Durable,
		Description:    "ketenbus escalator: terms of aanmeldingen and overdrachten",
		FilterSubjects: watched(),
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		// In order, one at a time: a bevestiging never overtakes its
		// aanmelding, and the live timers equal a rebuild's.
		MaxAckPending: 1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}, "escalator", e.cfg.Logger, e.Handle)
	return err
}
