package projection

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Action is what Decide says to do about a projection.
type Action struct {
	// Rebuild is set when the projection must be rebuilt, for Reason
	// (Reason*): from scratch, or, when From is set, by replaying EVENTS
	// from sequence From on top of what Redis holds.
	Rebuild bool
	Reason  string
	From    uint64
	// Wait is set while another rebuild runs.
	Wait bool
}

// Decide says what to do about a projection in state st; lost says the
// service's consumer acknowledged an event beyond what st holds. When the
// consumer applies events in order, one at a time, a projection that lost
// its last writes catches up from where it is; else it is rebuilt from
// scratch.
func Decide(st State, lost, inOrder bool) Action {
	switch {
	case st.Rebuilding:
		return Action{Wait: true}
	case !st.Complete && st.HasData:
		return Action{Rebuild: true, Reason: ReasonUnmarked}
	case !st.Complete:
		return Action{Rebuild: true, Reason: ReasonEmpty}
	case lost && inOrder:
		return Action{Rebuild: true, Reason: ReasonBehind, From: catchUpFrom(st)}
	case lost:
		return Action{Rebuild: true, Reason: ReasonBehind}
	}
	return Action{}
}

// catchUpFrom returns where a catch-up of st starts: at the last event
// it holds, whose writes may have landed in part (applying it again
// changes nothing), and never at 0, which means from scratch.
func catchUpFrom(st State) uint64 { return max(st.Holds(), 1) }

// Metrics are what a Keeper counts, registered by its service.
type Metrics struct {
	// Rebuilds counts finished rebuilds by reason (label "reason").
	Rebuilds *prometheus.CounterVec
	// Failures counts rebuilds that failed and are tried again.
	Failures prometheus.Counter
	// Rebuilding is 1 while the projection is incomplete and being
	// rebuilt, by this replica or another it waits for.
	Rebuilding prometheus.Gauge
}

// NewMetrics returns the Metrics of the projection what ("the timers")
// of service ("escalator"), unregistered: ketenbus_<service>_rebuilds_total
// {reason}, ketenbus_<service>_rebuild_failures_total and
// ketenbus_<service>_rebuilding.
func NewMetrics(service, what string) Metrics {
	prefix := "ketenbus_" + service + "_"
	return Metrics{
		Rebuilds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "rebuilds_total",
			Help: "Rebuilds of " + what + " in Redis from EVENTS that this " + service + " finished by itself, by reason: " +
				ReasonEmpty + " (Redis held neither the data nor the marker: restarted empty, flushed, or a new region), " +
				ReasonUnmarked + " (data without the marker: the first start of this version, or a rebuild that did not finish), " +
				ReasonBehind + " (Redis lost its last writes; replayed from where it was).",
		}, []string{"reason"}),
		Failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prefix + "rebuild_failures_total",
			Help: "Rebuilds of " + what + " that failed (NATS or Redis away) and are tried again; none left a marker.",
		}),
		Rebuilding: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: prefix + "rebuilding",
			Help: "1 during a rebuild of " + what + " in Redis from EVENTS, by this " + service + " or another it waits for; no event is applied meanwhile.",
		}),
	}
}

// Collectors returns the metrics, to register.
func (m Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Rebuilds, m.Failures, m.Rebuilding}
}

// KeeperConfig configures a Keeper.
type KeeperConfig struct {
	// Name is what the log lines call the projection ("escalation
	// timers"); required.
	Name string
	// Redis holds the projection with Keys; required.
	Redis redis.UniversalClient
	Keys  Keys
	// Rebuild recreates the projection with writer w: when from is 0 from
	// scratch (clearing what Redis holds first), else by replaying EVENTS
	// from sequence from on top of it. It returns the marker: Seq the last
	// EVENTS sequence it covers, Events how many events it read. Required.
	Rebuild func(ctx context.Context, w Writer, from uint64) (Marker, error)
	// AckFloor returns the EVENTS sequence up to which the service's
	// consumer acknowledged, and Consumes whether EVENTS holds an event
	// the service consumes from sequence from to to (both included): the
	// floor passes events the consumer does not read. With either nil,
	// Redis losing its last writes is not looked for.
	AckFloor func(ctx context.Context) (uint64, error)
	Consumes func(ctx context.Context, from, to uint64) (bool, error)
	// InOrder says the service's consumer applies events one at a time,
	// in stream order, so the marker's Applied tells up to where Redis
	// holds them: a Redis that lost its last writes catches up from there
	// instead of being rebuilt from scratch.
	InOrder bool
	// Observe, when set, gets the outcome of every look at Redis: nil
	// when Redis answered, else Redis's error (the service's readiness).
	Observe func(err error)
	// Now is the clock of the marker and the lock. Default time.Now.
	Now func() time.Time
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Metrics; required.
	Metrics Metrics
	// LockTTL is how long the rebuild lock lasts without renewal (a
	// rebuilder that died). Default 30s.
	LockTTL time.Duration
	// CheckInterval is how often the marker and the ack floor are looked
	// at besides Wake and Lost. Default 10s.
	CheckInterval time.Duration
	// WaitInterval is how often a replica waiting for another's rebuild
	// looks whether it is done. Default 250ms.
	WaitInterval time.Duration
	// RetryAfter is the wait after a failed rebuild, doubling with every
	// failure up to a minute. Default 1s.
	RetryAfter time.Duration
}

func (c *KeeperConfig) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.LockTTL <= 0 {
		c.LockTTL = 30 * time.Second
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = 10 * time.Second
	}
	if c.WaitInterval <= 0 {
		c.WaitInterval = 250 * time.Millisecond
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = time.Second
	}
}

// Keeper watches one projection for a service and rebuilds it from
// EVENTS when it is gone (see the package doc): at start, when Wake or
// Lost say so, and every CheckInterval. Its methods are safe for
// concurrent use.
type Keeper struct {
	cfg  KeeperConfig
	wake chan struct{}

	mu       sync.Mutex
	complete bool
	done     chan struct{} // closed while complete

	// Run's own state.
	waiting  bool  // logged that another replica rebuilds
	failures int   // rebuilds failed in a row
	stale    *Lock // the lock of a failed rebuild not yet released
}

// NewKeeper returns a Keeper; Run starts it.
func NewKeeper(cfg KeeperConfig) *Keeper {
	cfg.setDefaults()
	return &Keeper{cfg: cfg, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Complete reports whether the projection was complete at the last look.
func (k *Keeper) Complete() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.complete
}

// Wake asks Run to look at the projection now (Redis answered again after
// it was away).
func (k *Keeper) Wake() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// Lost says a write found the projection incomplete (ErrIncomplete): it
// is no longer complete, and Run looks at it now.
func (k *Keeper) Lost() {
	if k.setComplete(false) {
		k.Wake()
	}
}

// Wait waits until the projection is complete, ctx ends or d passes, and
// reports whether it is complete.
func (k *Keeper) Wait(ctx context.Context, d time.Duration) bool {
	k.mu.Lock()
	done := k.done
	k.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	return k.Complete()
}

// Hold calls fn, and while it fails with ErrIncomplete waits until the
// projection is complete again and calls it again, for up to d in all.
// It returns fn's last error.
func (k *Keeper) Hold(ctx context.Context, d time.Duration, fn func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := fn()
		if !errors.Is(err, ErrIncomplete) {
			return err
		}
		k.Lost()
		if left := time.Until(deadline); left <= 0 || !k.Wait(ctx, left) {
			return err
		}
	}
}

// setComplete sets whether the projection is complete and reports whether
// that changed.
func (k *Keeper) setComplete(c bool) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.complete == c {
		return false
	}
	k.complete = c
	if c {
		close(k.done)
	} else {
		k.done = make(chan struct{})
	}
	return true
}

// Rebuild replaces the projection by what replay writes with writer w,
// when asked to by hand: it takes the rebuild lock (the running
// services stop applying events until it is done), runs replay, and
// marks the projection complete with replay's marker, reason
// ReasonRequested. It returns the events replay read. Errors wrap
// ErrLocked when another rebuild is running; a rebuild that fails leaves
// the projection marked incomplete, and the Keepers rebuild it.
func (k *Keeper) Rebuild(ctx context.Context, replay func(ctx context.Context, w Writer) (Marker, error)) (uint64, error) {
	c := k.cfg
	l, _, err := Acquire(ctx, c.Redis, c.Keys, c.LockTTL, c.Now(), nil)
	if err != nil {
		return 0, err
	}
	m, err := Build(ctx, l, c.LockTTL, c.Now, func(ctx context.Context, w Writer) (Marker, error) {
		m, err := replay(ctx, w)
		m.Reason = ReasonRequested
		return m, err
	})
	return m.Events, err
}

// Run looks at the projection at once, then whenever Wake or Lost ask and
// every CheckInterval, and rebuilds it when Decide says so, until ctx
// ends.
func (k *Keeper) Run(ctx context.Context) {
	tick := time.NewTicker(k.cfg.CheckInterval)
	defer tick.Stop()
	for {
		next, only := k.step(ctx)
		if !k.pause(ctx, tick.C, next, only) {
			return
		}
	}
}

// pause waits for the next look: after next when it is set, or earlier
// on a wake or a tick unless only next counts (backing off after a
// failure). It reports false when ctx ended.
func (k *Keeper) pause(ctx context.Context, tick <-chan time.Time, next time.Duration, only bool) bool {
	var after <-chan time.Time
	if next > 0 {
		t := time.NewTimer(next)
		defer t.Stop()
		after = t.C
	}
	if only {
		tick = nil
	}
	wake := k.wake
	if only {
		wake = nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-tick:
	case <-after:
	}
	return true
}

// step looks at the projection once and acts. It returns when to look
// again (0: at the next tick or wake) and whether only that time counts.
func (k *Keeper) step(ctx context.Context) (time.Duration, bool) {
	if k.stale != nil && k.stale.Release(ctx) == nil {
		k.stale = nil
	}
	var floor uint64
	if k.cfg.AckFloor != nil && k.cfg.Consumes != nil {
		// Before the marker: a live write always lands before its ack, so
		// a floor read first never passes a marker read after it.
		if f, err := k.cfg.AckFloor(ctx); err == nil {
			floor = f
		}
	}
	st, err := Read(ctx, k.cfg.Redis, k.cfg.Keys)
	if k.cfg.Observe != nil && ctx.Err() == nil {
		k.cfg.Observe(err)
	}
	if err != nil {
		return time.Second, false // Redis away
	}
	lost := false
	if st.Complete && floor > st.Holds() {
		lost, _ = k.cfg.Consumes(ctx, st.Holds()+1, floor) // unknown: look again later
	}
	a := Decide(st, lost, k.cfg.InOrder)
	switch {
	case a.Wait:
		k.setComplete(false)
		k.cfg.Metrics.Rebuilding.Set(1)
		if !k.waiting {
			k.waiting = true
			k.cfg.Logger.Info(k.cfg.Name+": another replica is rebuilding from EVENTS; waiting until it is done",
				slog.Time("since", st.Since))
		}
		return k.cfg.WaitInterval, false
	case a.Rebuild:
		k.setComplete(false)
		k.waiting = false
		return k.rebuild(ctx, st, floor, a)
	}
	k.waiting, k.failures = false, 0
	k.cfg.Metrics.Rebuilding.Set(0)
	k.setComplete(true)
	return 0, false
}

// rebuild takes the lock, if the marker is still as seen in st, and
// rebuilds as a says.
func (k *Keeper) rebuild(ctx context.Context, st State, floor uint64, a Action) (time.Duration, bool) {
	l, prev, err := Acquire(ctx, k.cfg.Redis, k.cfg.Keys, k.cfg.LockTTL, k.cfg.Now(), &st)
	switch {
	case errors.Is(err, ErrLocked), errors.Is(err, ErrChanged):
		return time.Millisecond, false // another replica was quicker: look again
	case err != nil:
		return k.failed(ctx, err)
	}
	if a.From > 0 {
		// Live writes went on until the lock stopped them.
		a.From = catchUpFrom(prev)
	}
	k.cfg.Metrics.Rebuilding.Set(1)
	log := k.cfg.Logger.With(slog.String("reason", a.Reason))
	switch a.Reason {
	case ReasonEmpty:
		log.Warn(k.cfg.Name + ": not in Redis, and no marker either (Redis restarted empty, was flushed, or the region is new); rebuilding from EVENTS")
	case ReasonUnmarked:
		log.Warn(k.cfg.Name + ": in Redis without the marker that says complete (the first start of this version, or a rebuild that did not finish); rebuilding from EVENTS")
	case ReasonBehind:
		log.Warn(k.cfg.Name+": Redis lost its last writes (EVENTS is acknowledged beyond the sequence the marker holds); replaying EVENTS from there",
			slog.Uint64("acked_seq", floor), slog.Uint64("from_seq", a.From))
	}
	m, err := Build(ctx, l, k.cfg.LockTTL, k.cfg.Now, func(ctx context.Context, w Writer) (Marker, error) {
		m, err := k.cfg.Rebuild(ctx, w, a.From)
		m.Reason, m.From = a.Reason, a.From
		return m, err
	})
	if err != nil {
		if !errors.Is(err, ErrFenced) {
			k.stale = l // released by Build unless Redis was away
		}
		if ctx.Err() != nil {
			return 0, false
		}
		return k.failed(ctx, err)
	}
	k.failures = 0
	k.cfg.Metrics.Rebuilds.WithLabelValues(a.Reason).Inc()
	k.cfg.Metrics.Rebuilding.Set(0)
	log.Warn(k.cfg.Name+": rebuilt from EVENTS",
		slog.Uint64("events", m.Events), slog.Uint64("through_seq", m.Seq), slog.Duration("took", m.Took))
	k.setComplete(true)
	return 0, false
}

// failed counts and logs a failed rebuild and returns the wait before
// the next attempt.
func (k *Keeper) failed(ctx context.Context, err error) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	k.failures++
	k.cfg.Metrics.Failures.Inc()
	wait := min(k.cfg.RetryAfter<<min(k.failures-1, 10), time.Minute)
	k.cfg.Logger.Error(k.cfg.Name+": rebuild from EVENTS failed; trying again",
		slog.String("error", err.Error()), slog.Int("attempt", k.failures), slog.Duration("retry_in", wait))
	return wait, true
}
