package limits

import (
	"fmt"
	"hash/maphash"
	"net/http"
	"sync"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
)

// KeyInFlight caps the requests one key has in flight on this instance.
// Unlike a concurrent rule, it never leaves the process: it is load
// shedding, answered at once, and costs one lock of one shard. Only keys
// with requests in flight take memory.
type KeyInFlight struct {
	max    int64
	seed   maphash.Seed
	shards [64]inflightShard
}

type inflightShard struct {
	mu sync.Mutex
	n  map[string]int64
}

// NewKeyInFlight returns a cap of max requests per key; max must be > 0.
func NewKeyInFlight(max int) *KeyInFlight {
	k := &KeyInFlight{max: int64(max), seed: maphash.MakeSeed()}
	for i := range k.shards {
		k.shards[i].n = make(map[string]int64)
	}
	return k
}

// Max returns the cap.
func (k *KeyInFlight) Max() int { return int(k.max) }

func (k *KeyInFlight) shard(key string) *inflightShard {
	return &k.shards[maphash.String(k.seed, key)%uint64(len(k.shards))]
}

// Acquire takes a slot for key. It returns the function that gives the
// slot back (idempotent), or nil and the 429 for the client when key
// already has the maximum in flight.
func (k *KeyInFlight) Acquire(key string) (release func(), refused *apierr.Error) {
	s := k.shard(key)
	s.mu.Lock()
	if s.n[key] >= k.max {
		s.mu.Unlock()
		return nil, &apierr.Error{
			Status: http.StatusTooManyRequests, Type: "requests", Code: CodeRateLimit,
			Message:    fmt.Sprintf("Too many requests in flight for this API key: limit %d. Please retry shortly.", k.max),
			RetryAfter: time.Second,
		}
	}
	s.n[key]++
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.n[key]--; s.n[key] <= 0 {
				delete(s.n, key)
			}
			s.mu.Unlock()
		})
	}, nil
}

// InFlight returns the requests key has in flight.
func (k *KeyInFlight) InFlight(key string) int {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.n[key])
}
