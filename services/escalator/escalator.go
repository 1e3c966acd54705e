package escalator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ketenbus/ketenbus/services/shared/bus"
	"github.com/ketenbus/ketenbus/services/shared/outbox"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/projector"
	"github.com/ketenbus/ketenbus/services/shared/timers"
	"github.com/ketenbus/ketenbus/services/shared/werkdagen"
)

// Config configures the escalator. Of projector.ServiceConfig, Region
// holds the ladder, the Jeugd→Wmo months and the calendar, JetStream is
// where EVENTS is read and escalaties are written, Redis keeps the
// timers, and Durable defaults to "escalator".
type Config struct {
	projector.ServiceConfig
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
}

func (c *Config) setDefaults() {
	c.ServiceConfig.SetDefaults(bus.ConsumerEscalator)
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
}

// Validate reports a config the escalator cannot run with.
func (c Config) Validate() error {
	var claim error
	if c.ClaimBatch < 1 {
		claim = errors.New("escalator: ClaimBatch must be at least 1")
	}
	return errors.Join(c.ServiceConfig.Validate("escalator"), claim)
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
	e.proj = projector.New(cfg.Projector(projector.Config{
		Service:    "escalator",
		Projection: "escalation timers",
		What:       "the timers",
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
		Count: store.Pending,
	}))
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
