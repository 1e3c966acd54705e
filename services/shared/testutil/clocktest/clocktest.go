// Package clocktest is a clock for tests that moves only when the test
// says so, safe for concurrent use: inject its Now wherever a service
// takes a clock.
package clocktest

import (
	"sync/atomic"
	"time"
)

// Clock is a settable clock.
type Clock struct{ ns atomic.Int64 }

// New returns a Clock set to t.
func New(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) { c.ns.Add(int64(d)) }
