package keys

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

// maxNegative bounds the negative cache, so random ids cannot grow it
// without limit.
const maxNegative = 4096

// entry is one cached key. It is immutable once published, except for the
// shared usage counters.
type entry struct {
	rec     *store.KeyRecord
	hash    [sha256.Size]byte
	expires int64 // Unix nanoseconds; 0: never
	revoked bool
	loaded  int64 // Unix nanoseconds when read from the store
	used    *usage
}

// usage is the last-use time of a key, shared by the successive entries of
// the same id so that a refresh does not lose it.
type usage struct {
	last    atomic.Int64 // Unix nanoseconds of the last successful Verify
	flushed atomic.Int64 // the value of last written to the store
}

// touch records a use. It writes at most once a second per key, so that
// busy keys do not bounce one cache line between cores on every request.
func (u *usage) touch(now int64) {
	if now-u.last.Load() >= int64(time.Second) {
		u.last.Store(now)
	}
}

// newEntry builds the cache entry of rec, read from the store at loaded.
func newEntry(rec *store.KeyRecord, loaded time.Time) *entry {
	e := &entry{rec: rec, revoked: rec.RevokedAt != nil, loaded: loaded.UnixNano(), used: new(usage)}
	copy(e.hash[:], rec.Hash)
	if rec.ExpiresAt != nil {
		e.expires = rec.ExpiresAt.UnixNano()
	}
	if rec.LastUsedAt != nil {
		n := rec.LastUsedAt.UnixNano()
		e.used.last.Store(n)
		e.used.flushed.Store(n)
	}
	return e
}

// cache holds known keys by id and recently unknown ids.
type cache struct {
	mu  sync.RWMutex
	m   map[string]*entry
	neg map[string]int64 // id -> Unix nanoseconds until which it is unknown
	// synced is when the last successful refresh from the store started:
	// every entry reflects the store as of then.
	synced atomic.Int64
}

func newCache() *cache {
	return &cache{m: make(map[string]*entry), neg: make(map[string]int64)}
}

// get returns the entry of id, or nil.
func (c *cache) get(id string) *entry {
	c.mu.RLock()
	e := c.m[id]
	c.mu.RUnlock()
	return e
}

// unknownUntil returns when the negative entry of id expires, or 0.
func (c *cache) unknownUntil(id string) int64 {
	c.mu.RLock()
	t := c.neg[id]
	c.mu.RUnlock()
	return t
}

// put stores e, keeping the usage of the entry it replaces.
func (c *cache) put(e *entry) {
	c.mu.Lock()
	c.putLocked(e)
	c.mu.Unlock()
}

func (c *cache) putLocked(e *entry) {
	c.m[e.rec.ID] = keepNewer(c.m[e.rec.ID], e)
	delete(c.neg, e.rec.ID)
}

// keepNewer returns the entry to cache when e replaces old, carrying the
// usage over. A refresh that read the store before a local revocation must
// not bring back the older, unrevoked state, so the entry with the later
// UpdatedAt wins.
func keepNewer(old, e *entry) *entry {
	if old == nil {
		return e
	}
	mergeUsage(old.used, e.used)
	if old.rec.UpdatedAt.After(e.rec.UpdatedAt) {
		return old
	}
	e.used = old.used
	return e
}

// mergeUsage moves the newer stored times of from into into.
func mergeUsage(into, from *usage) {
	if l := from.last.Load(); l > into.last.Load() {
		into.last.Store(l)
	}
	if f := from.flushed.Load(); f > into.flushed.Load() {
		into.flushed.Store(f)
	}
}

// replaceAll swaps in a full listing: ids missing from it are dropped.
func (c *cache) replaceAll(entries []*entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m
	c.m = make(map[string]*entry, len(entries))
	for _, e := range entries {
		c.m[e.rec.ID] = keepNewer(old[e.rec.ID], e)
		delete(c.neg, e.rec.ID)
	}
}

// remember marks id unknown until the given time. When the negative cache
// is full it drops expired ids, and everything if none had expired.
func (c *cache) remember(id string, until, now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.neg) >= maxNegative {
		for k, t := range c.neg {
			if t <= now {
				delete(c.neg, k)
			}
		}
		if len(c.neg) >= maxNegative {
			clear(c.neg)
		}
	}
	c.neg[id] = until
}

// unflushed returns the last-use times not yet written to the store.
func (c *cache) unflushed() map[string]time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out map[string]time.Time
	for id, e := range c.m {
		if l := e.used.last.Load(); l > e.used.flushed.Load() {
			if out == nil {
				out = make(map[string]time.Time)
			}
			out[id] = time.Unix(0, l)
		}
	}
	return out
}

// markFlushed records that these times reached the store.
func (c *cache) markFlushed(done map[string]time.Time) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for id, t := range done {
		if e := c.m[id]; e != nil {
			n := t.UnixNano()
			if n > e.used.flushed.Load() {
				e.used.flushed.Store(n)
			}
		}
	}
}

// lastUsed returns the newest known use of id, flushed or not.
func (c *cache) lastUsed(id string) int64 {
	if e := c.get(id); e != nil {
		return e.used.last.Load()
	}
	return 0
}
