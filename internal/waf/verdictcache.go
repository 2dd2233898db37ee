package waf

import (
	"crypto/sha256"
	"encoding/binary"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
)

// The verdict cache remembers the verdict of a request whose every input to
// the rules was seen before: the rules are a pure function of what the
// transaction is fed (connection addresses, request line, headers, body in
// scope), so an identical input gets an identical verdict. A client's
// requests often repeat all of it but the body, and the body in scope is
// usually nothing (see InspectRouted), so the common chat request costs a
// hash instead of the Core Rule Set.
//
// The key is the SHA-256 of those inputs, so that no crafted request can
// collide with another's entry. Left out of the key is what no rule of
// the Core Rule Set reads: the client's port, and the value of
// a non-zero Content-Length, whose syntax net/http has already checked
// (present or not, zero or not, is kept). With operator rule files loaded
// there is no cache (see newWAF). Requests whose inputs are large (many or long headers, a
// large body in scope) are not cached: they are rarely repeated.
const (
	verdictShards         = 16
	verdictShardSize      = 256 // entries per shard
	verdictMaxKeyMaterial = 8 << 10
)

type verdictKey [sha256.Size]byte

type verdictShard struct {
	mu sync.Mutex
	m  map[verdictKey]Verdict
}

type verdictCache struct {
	shards [verdictShards]verdictShard
	hits   atomic.Uint64
	misses atomic.Uint64
}

func newVerdictCache() *verdictCache {
	c := &verdictCache{}
	for i := range c.shards {
		c.shards[i].m = make(map[verdictKey]Verdict)
	}
	return c
}

// keyBuf is the pooled scratch space of key.
type keyBuf struct {
	b     []byte
	names []string
}

var keyBufs = sync.Pool{New: func() any { return &keyBuf{b: make([]byte, 0, 1024)} }}

// key returns the cache key of r with payload, or false when r is not worth
// caching.
func (c *verdictCache) key(r *http.Request, payload []byte) (verdictKey, bool) {
	size := len(r.RequestURI) + len(r.Host) + len(payload)
	for name, vs := range r.Header {
		size += len(name)
		for _, v := range vs {
			size += len(v) + 2
		}
	}
	if size > verdictMaxKeyMaterial {
		return verdictKey{}, false
	}
	kb := keyBufs.Get().(*keyBuf)
	defer keyBufs.Put(kb)
	b := kb.b[:0]
	field := func(s string) {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	cip, _ := splitAddr(r.RemoteAddr)
	field(cip)
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		field(a.String())
	} else {
		field("")
	}
	field(r.Method)
	field(r.RequestURI)
	if r.RequestURI == "" {
		field(r.URL.RequestURI())
	}
	field(r.Proto)
	field(r.Host)
	// Lists are prefixed with their length, not ended by an empty field: a
	// value may be empty, and a header's values could otherwise spell the
	// next header's name and values.
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.TransferEncoding)))
	for _, te := range r.TransferEncoding {
		field(te)
	}
	names := kb.names[:0]
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		vs := r.Header[name]
		if name == "Content-Length" && len(vs) == 1 && nonZeroDigits(vs[0]) {
			// Its value is digits (net/http refused anything else); to the
			// Core Rule Set only its presence and whether it is zero matter.
			// A zero is kept as written: "00" is not "0" to rule 920170.
			field(name)
			b = binary.LittleEndian.AppendUint32(b, 1)
			field("+")
			continue
		}
		field(name)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(vs)))
		for _, v := range vs {
			field(v)
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	k := verdictKey(sha256.Sum256(b))
	clear(names)
	kb.b, kb.names = b, names[:0]
	return k, true
}

// nonZeroDigits reports whether s is decimal digits, not all of them zero.
func nonZeroDigits(s string) bool {
	nonZero := false
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		nonZero = nonZero || s[i] != '0'
	}
	return nonZero
}

func (c *verdictCache) shard(k verdictKey) *verdictShard {
	return &c.shards[k[0]%verdictShards]
}

// get returns the remembered verdict of k. Its slices are shared: callers
// only read them.
func (c *verdictCache) get(k verdictKey) (Verdict, bool) {
	s := c.shard(k)
	s.mu.Lock()
	v, ok := s.m[k]
	s.mu.Unlock()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return v, ok
}

// put remembers v under k; a full shard loses one entry, the first of Go's
// randomised map iteration.
func (c *verdictCache) put(k verdictKey, v Verdict) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= verdictShardSize {
		for old := range s.m {
			delete(s.m, old)
			break
		}
	}
	s.m[k] = v
}

// len is the number of verdicts remembered.
func (c *verdictCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
