package limits

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryOptions configures a Memory backend.
type MemoryOptions struct {
	// MaxEntries bounds the number of counters kept. When it is reached,
	// expired counters are dropped first; failing that, the counter that
	// expires soonest among a sample is evicted, which resets that one
	// limit: bounded memory under a flood of distinct client IPs or keys
	// is worth more than one exact counter. Default: 100000 (about 15 MB).
	MaxEntries int
	// Shards is the number of independently locked parts, rounded up to
	// a power of two. Default: 64.
	Shards int
}

// Memory is an in-process Backend: sharded, bounded and with TTL eviction.
// It is safe for concurrent use.
type Memory struct {
	seed      maphash.Seed
	mask      uint64
	perShard  int
	shards    []memShard
	evictions atomic.Int64
}

type memShard struct {
	mu sync.Mutex
	m  map[string]memEntry
	// swept is when the shard was last swept whole (unix nanoseconds).
	swept int64
	// pad keeps shards on separate cache lines.
	_ [32]byte
}

type memEntry struct {
	val int64
	exp int64 // unix nanoseconds
}

// sweepSample is how many entries an insertion examines to drop expired
// counters, so that TTL eviction keeps pace without a background goroutine.
const sweepSample = 2

// evictSample is how many entries are examined to pick a victim when a
// shard is full.
const evictSample = 32

// NewMemory returns an empty Memory backend.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 100000
	}
	n := 1
	for n < opts.Shards || (opts.Shards <= 0 && n < 64) {
		n <<= 1
	}
	m := &Memory{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]memShard, n)}
	m.perShard = max(1, opts.MaxEntries/n)
	for i := range m.shards {
		m.shards[i].m = make(map[string]memEntry)
	}
	return m
}

// shard returns the index of the shard that holds key.
func (m *Memory) shard(key string) int {
	return int(maphash.String(m.seed, key) & m.mask)
}

// Reserve implements Backend. It locks the shards involved in ascending
// order, so that concurrent reservations never deadlock and every
// reservation is all or nothing.
func (m *Memory) Reserve(_ context.Context, now time.Time, ops []Op, vals []int64) (int, error) {
	var buf, lbuf [16]int
	idx, locked := buf[:0], lbuf[:0]
	for i := range ops {
		idx = append(idx, m.shard(ops[i].Key))
	}
	locked = sortedUnique(append(locked, idx...))
	for _, s := range locked {
		m.shards[s].mu.Lock()
	}
	defer func() {
		for _, s := range locked {
			m.shards[s].mu.Unlock()
		}
	}()
	t := now.UnixNano()
	denied := -1
	for i := range ops {
		e := m.shards[idx[i]].m[ops[i].Key]
		if e.exp <= t {
			e.val = 0
		}
		vals[i] = e.val
		o := &ops[i]
		if denied < 0 && o.Limit > 0 && o.Amount > 0 && e.val+o.Amount > o.Limit {
			denied = i
		}
	}
	if denied >= 0 {
		return denied, nil
	}
	for i := range ops {
		if ops[i].Amount != 0 {
			vals[i] = m.shards[idx[i]].add(&ops[i], t, m)
		}
	}
	return -1, nil
}

// Adjust implements Backend.
func (m *Memory) Adjust(_ context.Context, now time.Time, ops []Op) error {
	t := now.UnixNano()
	for i := range ops {
		o := &ops[i]
		s := &m.shards[m.shard(o.Key)]
		s.mu.Lock()
		e, ok := s.m[o.Key]
		switch {
		case ok && e.exp > t:
			e.val = max(0, e.val+o.Amount)
			s.m[o.Key] = e
		case o.Amount > 0 && o.Lease == "" && o.Expire.UnixNano() > t:
			s.add(o, t, m)
		}
		s.mu.Unlock()
	}
	return nil
}

// add applies o to its counter, inserting it if need be, and returns the
// new value. The shard must be locked.
func (s *memShard) add(o *Op, now int64, m *Memory) int64 {
	e, ok := s.m[o.Key]
	if !ok || e.exp <= now {
		if !ok {
			s.makeRoom(now, m)
		}
		e = memEntry{}
	}
	e.val = max(0, e.val+o.Amount)
	e.exp = max(e.exp, o.Expire.UnixNano())
	s.m[o.Key] = e
	return e.val
}

// makeRoom drops a few expired counters and, when the shard is still full,
// sweeps it whole (at most once a second, so that a flood of live counters
// cannot make every insertion pay for a sweep) or else evicts the counter
// that expires soonest among a sample.
func (s *memShard) makeRoom(now int64, m *Memory) {
	n := 0
	for k, e := range s.m {
		if n++; n > sweepSample {
			break
		}
		if e.exp <= now {
			delete(s.m, k)
		}
	}
	if len(s.m) < m.perShard {
		return
	}
	if now-s.swept >= int64(time.Second) {
		s.swept = now
		if s.sweep(now) > 0 {
			return
		}
	}
	victim, soonest, n := "", int64(0), 0
	for k, e := range s.m {
		if e.exp <= now {
			delete(s.m, k)
			return
		}
		if victim == "" || e.exp < soonest {
			victim, soonest = k, e.exp
		}
		if n++; n >= evictSample {
			break
		}
	}
	delete(s.m, victim)
	m.evictions.Add(1)
}

// Sweep drops every expired counter and returns how many it dropped. The
// backend evicts as it goes; Sweep is for callers that want memory back
// promptly after a burst, such as a periodic janitor.
func (m *Memory) Sweep(now time.Time) int {
	t, n := now.UnixNano(), 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.sweep(t)
		s.mu.Unlock()
	}
	return n
}

// sweep drops every expired counter of a locked shard.
func (s *memShard) sweep(now int64) int {
	n := 0
	for k, e := range s.m {
		if e.exp <= now {
			delete(s.m, k)
			n++
		}
	}
	return n
}

// Len returns the number of counters held, expired ones not yet dropped
// included.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Evictions returns how many live counters were evicted to stay within
// MaxEntries.
func (m *Memory) Evictions() int64 { return m.evictions.Load() }

// sortedUnique sorts a short slice in place and drops duplicates.
func sortedUnique(a []int) []int {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	out := a[:0]
	for _, v := range a {
		if len(out) == 0 || v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

var _ Backend = (*Memory)(nil)
