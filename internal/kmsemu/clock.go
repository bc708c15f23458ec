package kmsemu

import (
	"sync"
	"time"
)

// Clock is the emulator's notion of now. It follows real time from an
// offset that tests can set and advance, so that automatic and on-demand
// rotations happen when a test says so.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen time.Time // non-zero: time stands still here
	real   func() time.Time
}

// NewClock returns a clock that follows real time.
func NewClock() *Clock { return &Clock{real: time.Now} }

// Now returns the emulated time, in UTC.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen
	}
	return c.real().Add(c.offset).UTC()
}

// Set makes the clock read t from now on, still advancing in real time.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		c.frozen = t.UTC()
		return
	}
	c.offset = t.Sub(c.real())
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		c.frozen = c.frozen.Add(d)
		return
	}
	c.offset += d
}

// Freeze stops the clock at its current reading (Advance and Set still move it).
func (c *Clock) Freeze() {
	now := c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frozen = now
}

// Moved reports whether the clock was set, advanced or frozen: it then no
// longer reads what clients' clocks read.
func (c *Clock) Moved() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset != 0 || !c.frozen.IsZero()
}
