package emulator

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the emulator's notion of "now". Job lifecycles, token expiry and
// CreationTime all read it, so tests can drive time instead of sleeping.
// Injected latency and the SigV4 request-time check use the wall clock.
type Clock interface {
	Now() time.Time
}

// wallClock is the default Clock: the wall clock plus an offset that
// Server.AdvanceClock (and POST /_emulator/clock) moves forward.
type wallClock struct{ offset atomic.Int64 }

func (c *wallClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// FakeClock is a manually driven Clock, safe for concurrent use.
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock returns a FakeClock reading t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{t: t} }

// Now returns the current fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the fake time forward by d (backwards if d < 0).
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set jumps the fake time to t.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Now is the emulator clock's current time.
func (s *Server) Now() time.Time { return s.opts.Clock.Now() }

// AdvanceClock moves the emulator clock forward by d and applies every job
// transition that became due. It works for the default clock (wall time
// plus an offset) and for a *FakeClock; any other Clock, or d < 0, is an
// error. Transitions already applied are never undone.
func (s *Server) AdvanceClock(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("emulator: cannot move the clock backwards (%v)", d)
	}
	switch c := s.opts.Clock.(type) {
	case *wallClock:
		c.offset.Add(int64(d))
	case *FakeClock:
		c.Advance(d)
	default:
		return fmt.Errorf("emulator: the clock %T cannot be advanced; use the default clock or a *FakeClock", s.opts.Clock)
	}
	s.store.advance(s.Now())
	return nil
}
