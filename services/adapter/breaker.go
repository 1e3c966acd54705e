package adapter

import (
	"sync"
	"time"

	"github.com/ketenbus/ketenbus/services/shared/activity"
	"github.com/ketenbus/ketenbus/services/shared/webhookout"
)

// breakerState is the state of a circuit breaker.
type breakerState int

const (
	breakerClosed breakerState = iota
	breakerOpen
	breakerHalfOpen
)

// String names the state as the activity log does.
func (s breakerState) String() string {
	switch s {
	case breakerOpen:
		return activity.CircuitOpen
	case breakerHalfOpen:
		return activity.CircuitHalfOpen
	default:
		return activity.CircuitClosed
	}
}

// breaker is a per-partner circuit breaker: closed lets every attempt
// through; failures consecutive failures open it for cooldown; then it is
// half-open and lets one attempt (the probe) through: its success closes
// the breaker, its failure opens it again. Safe for concurrent use.
//
// It is small on purpose: besides the state the adapter needs the
// remaining cooldown (the nak delay) and a probe that ends without a
// verdict (shutdown), which general-purpose breakers do not expose.
type breaker struct {
	failures  int
	cooldown  time.Duration
	probeWait time.Duration
	onChange  func(from, to breakerState)

	mu          sync.Mutex
	state       breakerState
	consecutive int
	openUntil   time.Time
	probing     bool
}

func newBreaker(failures int, cooldown, probeWait time.Duration, onChange func(from, to breakerState)) *breaker {
	return &breaker{failures: failures, cooldown: cooldown, probeWait: probeWait, onChange: onChange}
}

// allow reports whether an attempt may go through now. When it may not,
// wait is how long to hold the delivery back. probe is true for the one
// attempt of the half-open state; what it says must be passed to done.
func (b *breaker) allow(now time.Time) (ok, probe bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case breakerClosed:
		return true, false, 0
	case breakerOpen:
		if now.Before(b.openUntil) {
			return false, false, b.openUntil.Sub(now)
		}
		b.set(breakerHalfOpen)
	}
	if b.probing {
		return false, false, b.probeWait
	}
	b.probing = true
	return true, true, 0
}

// done records what an attempt that allow let through says about the
// endpoint (webhookout.Classify): HealthUnknown (a shutdown) changes
// nothing but ending the probe.
func (b *breaker) done(now time.Time, probe bool, h webhookout.Health) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch h {
	case webhookout.HealthUp:
		b.consecutive = 0
		if b.state != breakerClosed && (probe || b.state == breakerHalfOpen) {
			b.set(breakerClosed)
		}
	case webhookout.HealthDown:
		b.consecutive++
		switch {
		case probe && b.state == breakerHalfOpen:
			b.open(now)
		case b.state == breakerClosed && b.consecutive >= b.failures:
			b.open(now)
		}
	}
}

func (b *breaker) open(now time.Time) {
	b.openUntil = now.Add(b.cooldown)
	b.set(breakerOpen)
}

func (b *breaker) set(s breakerState) {
	if s == b.state {
		return
	}
	from := b.state
	b.state = s
	if b.onChange != nil {
		b.onChange(from, s)
	}
}
