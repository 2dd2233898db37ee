package upstream

import (
	"sync"
	"time"
)

// Breaker is a circuit breaker for one upstream. It opens after a run of
// consecutive failures (connect errors, timeouts, 5xx), refuses calls while
// open so that a failing upstream is not hammered and requests fail over
// at once, and after a cool-down lets one probe through (half-open): the
// probe's success closes it, its failure opens it again.
type Breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu       sync.Mutex
	failures int
	openedAt time.Time
	open     bool
	probing  bool
}

// NewBreaker returns a closed breaker; threshold <= 0 disables it.
func NewBreaker(threshold int, cooldown time.Duration) *Breaker {
	return &Breaker{threshold: threshold, cooldown: cooldown, now: time.Now}
}

// Allow reports whether a call may go to the upstream now, and, when not,
// how long until the breaker lets a probe through. A true answer while the
// breaker is open makes this call the probe.
func (b *Breaker) Allow() (bool, time.Duration) {
	if b == nil || b.threshold <= 0 {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return true, 0
	}
	wait := b.cooldown - b.now().Sub(b.openedAt)
	if wait > 0 || b.probing {
		return false, max(wait, time.Second)
	}
	b.probing = true
	return true, 0
}

// Success records a call that the upstream answered.
func (b *Breaker) Success() {
	if b == nil || b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	b.failures, b.open, b.probing = 0, false, false
	b.mu.Unlock()
}

// Failure records a call that failed; it may open the breaker.
func (b *Breaker) Failure() {
	if b == nil || b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.probing || b.failures >= b.threshold {
		b.open, b.probing, b.openedAt = true, false, b.now()
	}
}

// Release ends a probe that had no verdict (the client went away), so that
// the next call may probe again.
func (b *Breaker) Release() {
	if b == nil || b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// Open reports whether the breaker is open, for metrics and the admin API.
func (b *Breaker) Open() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}
