package keys

import (
	"sync"
	"time"
)

// bucket is a token bucket that bounds how often Verify reads the store for
// an id it has never seen. Ids are cheap to invent, so a per-id negative
// cache alone would not stop a flood of random ids from reaching the store.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   int64 // Unix nanoseconds of the last refill
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// allow takes one token if there is one.
func (b *bucket) allow(now int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last != 0 && now > b.last {
		b.tokens += float64(now-b.last) / float64(time.Second) * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	if now > b.last {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
