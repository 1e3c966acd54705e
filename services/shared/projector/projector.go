package projector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ketenbus/ketenbus/events"
	"github.com/ketenbus/ketenbus/services/shared/projection"
	"github.com/ketenbus/ketenbus/services/shared/redisx"
	"github.com/ketenbus/ketenbus/services/shared/scrape"
	"github.com/ketenbus/ketenbus/services/shared/streams"
	"github.com/ketenbus/ketenbus/services/shared/wmjetstream"
)

// HoldFor is how long Handle waits for the projection to be complete
// again before its event goes back to JetStream: well within the
// consumer's AckWait.
const HoldFor = 15 * time.Second

// Input is one event of EVENTS as the service sees it.
type Input struct {
	Event cloudevents.Event
	// Sender is the partner that published it (from its subject).
	Sender string
	// Seq is its EVENTS sequence and Stored when EVENTS stored it.
	Seq    uint64
	Stored time.Time
}

// Logs are the messages of the log lines of Handle, in the service's
// words.
type Logs struct {
	// Unreadable (error): the event is no CloudEvent; it is skipped.
	Unreadable string
	// Invalid (error): the projection cannot take the event; skipped.
	Invalid string
	// Rebuilding (debug): the projection is being rebuilt; the event
	// comes back.
	Rebuilding string
	// NotStored (warning): the effect was not stored; the event comes
	// back.
	NotStored string
}

// Config configures a Projector. Every field is required unless it says
// otherwise.
type Config struct {
	// Service names the service in its metrics and its consumer's
	// handler ("escalator"); Called is what help texts call it
	// ("samenloop service"), default Service.
	Service, Called string
	// Projection is what log lines call the projection ("escalation
	// timers"), What what help texts call it ("the timers").
	Projection, What string
	JetStream        jetstream.JetStream
	// Redis holds the projection with Keys.
	Redis redis.UniversalClient
	Keys  projection.Keys
	// Consumer is the service's durable consumer on EVENTS: its
	// FilterSubjects are the events it reads; with MaxAckPending 1 it
	// applies them in order, and a Redis that lost its last writes
	// catches up instead of being rebuilt from scratch.
	Consumer jetstream.ConsumerConfig
	// Apply applies in to the projection with writer w: the service's
	// logic, the same for live events and a rebuild's.
	Apply func(ctx context.Context, w projection.Writer, in Input) error
	// Note notes with writer w that an event changed nothing.
	Note func(ctx context.Context, w projection.Writer) error
	// Rebuild recreates the projection with writer w, from scratch when
	// from is 0, else from EVENTS sequence from on top of what Redis
	// holds (projection.KeeperConfig.Rebuild).
	Rebuild func(ctx context.Context, w projection.Writer, from uint64) (projection.Marker, error)
	// Unavailable is the store's error for a Redis that does not answer,
	// Invalid its error for an event it cannot take.
	Unavailable, Invalid error
	// Logs are the log lines of Handle.
	Logs Logs
	// Size is the gauge of how much the projection holds; Count counts
	// it (the gauge has no sample while Redis does not answer, and
	// ketenbus_scrape_errors_total counts).
	Size  prometheus.GaugeOpts
	Count func(ctx context.Context) (int64, error)
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Metrics is where the metrics are registered.
	Metrics prometheus.Registerer
	// RebuildLock is how long the lock of a rebuild lasts without
	// renewal; CheckInterval how often the projection is looked at
	// (projection.KeeperConfig). Defaults 30s and 10s.
	RebuildLock, CheckInterval time.Duration
}

// Projector runs a service's consumer of EVENTS and keeps its projection
// complete (see the package doc). Its methods are safe for concurrent
// use.
type Projector struct {
	cfg    Config
	keeper *projection.Keeper
	ready  atomic.Bool
}

// New returns the Projector of cfg and registers its metrics.
func New(cfg Config) *Projector {
	if cfg.Called == "" {
		cfg.Called = cfg.Service
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Projector{cfg: cfg}
	metrics := projection.NewMetrics(cfg.Service, cfg.What)
	js, durable := cfg.JetStream, cfg.Consumer.Durable
	p.keeper = projection.NewKeeper(projection.KeeperConfig{
		Name:    cfg.Projection,
		Redis:   cfg.Redis,
		Keys:    cfg.Keys,
		Rebuild: cfg.Rebuild,
		AckFloor: func(ctx context.Context) (uint64, error) {
			pos, _, err := streams.ConsumerPosition(ctx, js, events.StreamEvents, durable)
			return pos.Acked, err
		},
		Consumes: func(ctx context.Context, from, to uint64) (bool, error) {
			return streams.Holds(ctx, js, events.StreamEvents, cfg.Consumer.FilterSubjects, from, to)
		},
		InOrder:       cfg.Consumer.MaxAckPending == 1,
		Observe:       func(err error) { p.Observe(redisx.Wrap("read the marker", err, cfg.Unavailable)) },
		Now:           cfg.Now,
		Logger:        cfg.Logger,
		Metrics:       metrics,
		LockTTL:       cfg.RebuildLock,
		CheckInterval: cfg.CheckInterval,
	})
	cfg.Metrics.MustRegister(metrics.Collectors()...)
	cfg.Metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ketenbus_" + cfg.Service + "_ready",
		Help: "1 while Redis answers the " + cfg.Called + ", 0 while it does not (events are then not acked).",
	}, func() float64 {
		if p.Ready() {
			return 1
		}
		return 0
	}), scrape.NewGauge(cfg.Size.Name, cfg.Size.Help, scrape.Errors(cfg.Metrics), scrape.Redis,
		func(ctx context.Context) (float64, bool, error) {
			n, err := cfg.Count(ctx)
			return float64(n), true, err
		}))
	return p
}

// Ready reports whether Redis answered the last time it was used.
func (p *Projector) Ready() bool { return p.ready.Load() }

// Complete reports whether the projection was complete at the last look.
func (p *Projector) Complete() bool { return p.keeper.Complete() }

// Lost says a write found the projection missing: it is looked at, and
// rebuilt, at once.
func (p *Projector) Lost() { p.keeper.Lost() }

// Observe notes the outcome of a use of Redis: err wrapping
// Config.Unavailable says Redis does not answer; nil, or an error
// wrapping projection.ErrIncomplete, that it does. When it answers again
// after it did not, the projection is looked at at once: Redis may be
// back empty. Any other error says nothing about Redis.
func (p *Projector) Observe(err error) {
	if errors.Is(err, p.cfg.Unavailable) {
		p.ready.Store(false)
	} else if (err == nil || errors.Is(err, projection.ErrIncomplete)) && !p.ready.Swap(true) {
		p.keeper.Wake()
	}
}

// Run runs the service until ctx ends, then returns nil: it creates the
// consumer, keeps the projection complete, runs each of loops in a
// goroutine of its own and consumes EVENTS with Handle. The consumer
// exists before the projection is looked at, so a rebuild can replay up
// to where the consumer got.
func (p *Projector) Run(ctx context.Context, loops ...func(context.Context)) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	cc := p.cfg.Consumer
	if _, err := p.cfg.JetStream.CreateOrUpdateConsumer(ctx, events.StreamEvents, cc); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s: consumer %s: %w", p.cfg.Service, cc.Durable, err)
	}
	wg.Go(func() { p.keeper.Run(ctx) })
	for _, loop := range loops {
		wg.Go(func() { loop(ctx) })
	}
	return wmjetstream.Consume(ctx, p.cfg.JetStream, events.StreamEvents, cc, p.cfg.Service, p.cfg.Logger, p.Handle)
}

// Handle applies one event of EVENTS with Config.Apply (see the package
// doc). It returns nil, and the event is acked, only once Redis stored
// its effect, or a note that it had none.
func (p *Projector) Handle(msg *message.Message) error {
	ctx, seq := msg.Context(), wmjetstream.StreamSeq(msg)
	w := projection.Live(seq)
	ev, err := events.ReadEvent(msg.Payload)
	unreadable := err != nil
	in := Input{
		Event:  ev,
		Sender: events.SubjectPartner(msg.Metadata.Get(wmjetstream.MetaSubject)),
		Seq:    seq,
		Stored: wmjetstream.Timestamp(msg),
	}
	var invalid error
	err = p.keeper.Hold(ctx, HoldFor, func() error {
		var err error
		if !unreadable {
			err = p.cfg.Apply(ctx, w, in)
		}
		if errors.Is(err, p.cfg.Invalid) {
			// Retrying cannot make it valid; waiting for it would hold up
			// every later event.
			invalid, err = err, nil
		}
		if err == nil && !w.Wrote() {
			err = p.cfg.Note(ctx, w)
		}
		return err
	})
	p.Observe(err)
	logger, typ := p.cfg.Logger, slog.String("type", in.Event.Type())
	switch {
	case err == nil && unreadable:
		logger.Error(p.cfg.Logs.Unreadable, slog.Uint64("sequence", seq))
	case err == nil && invalid != nil:
		logger.Error(p.cfg.Logs.Invalid, typ, slog.Uint64("sequence", seq), slog.String("error", invalid.Error()))
	case errors.Is(err, projection.ErrIncomplete):
		wmjetstream.SetNakDelay(msg, time.Second)
		logger.Debug(p.cfg.Logs.Rebuilding, typ, slog.Uint64("sequence", seq))
	case err != nil:
		wmjetstream.SetNakDelay(msg, wmjetstream.Backoff(wmjetstream.NumDelivered(msg)))
		logger.Warn(p.cfg.Logs.NotStored, typ, slog.Uint64("sequence", seq), slog.String("error", err.Error()))
	}
	return err
}

// Rebuild replaces the projection in Redis by what replay writes, as
// the Keeper does by itself when it finds the projection missing (see
// projection.Keeper.Rebuild). It returns the events replay read. Errors
// wrap projection.ErrLocked when another rebuild is running.
func (p *Projector) Rebuild(ctx context.Context, replay func(ctx context.Context, w projection.Writer) (projection.Marker, error)) (uint64, error) {
	return p.keeper.Rebuild(ctx, replay)
}
