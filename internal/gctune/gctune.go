// Package gctune sets the garbage collector's target from the live heap.
//
// A gateway at rest or under a burst of short requests has a small live
// heap; there a high target (GOGC=400) trades a few MiB for much less
// collector CPU per request. A gateway holding thousands of open streams
// has a large live heap, and the same target would let garbage grow to
// four times it: hundreds of MiB. The tuner keeps the headroom the target
// allows near a fixed amount instead: the high target while the live heap
// is small, falling to the standard 100 as it grows.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Policy bounds the target.
type Policy struct {
	// Headroom is the garbage the collector may let accumulate above the
	// live heap before it runs, as long as the target stays within
	// [Min, Max].
	Headroom uint64
	// Max and Min bound the GOGC percentage.
	Max, Min int
}

// Default is the gateway's policy: at most 64 MiB of garbage, with the
// target between 50 and 400. At rest and under a burst of short requests
// (under 16 MiB of live heap and roots) that is 400; with 2,000 open
// streams (about 70 MiB) it is about 90.
var Default = Policy{Headroom: 64 << 20, Max: 400, Min: 50}

// Percent returns the target that allows p.Headroom of garbage above a
// live heap of live bytes with roots bytes of stacks and globals: the
// collector's goal is live + (live + roots) × GOGC / 100.
func (p Policy) Percent(live, roots uint64) int {
	base := live + roots
	if base == 0 {
		return p.Max
	}
	pct := int(min(p.Headroom*100/base, uint64(p.Max)))
	return max(pct, p.Min)
}

// tuner re-reads the live heap after every collection.
type tuner struct {
	p       Policy
	samples []metrics.Sample
	mu      sync.Mutex
	current int
}

var running *tuner

// Start applies p now and after every garbage collection, for the life of
// the process. Only the first call has an effect.
//
// The goal is live + (live + roots) × GOGC / 100, where roots are the
// goroutine stacks and globals the collector scans: thousands of open
// streams weigh as much in stacks as in heap.
func Start(p Policy) {
	if running != nil {
		return
	}
	t := &tuner{p: p, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"},
	}}
	running = t
	t.current = p.Max
	debug.SetGCPercent(p.Max)
	t.arm()
}

// sentinel is garbage whose collection signals that a cycle ended. It
// holds a pointer so that the tiny allocator never batches it with other
// objects, which would delay its cleanup.
type sentinel struct {
	_ *int
	_ [8]byte
}

// arm registers a cleanup on a fresh piece of garbage: it runs after the
// next collection, adjusts the target and arms the next one.
func (t *tuner) arm() {
	s := new(sentinel)
	runtime.AddCleanup(s, func(t *tuner) { t.adjust() }, t)
}

func (t *tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	metrics.Read(t.samples)
	var v [3]uint64
	for i, s := range t.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	if pct := t.p.Percent(v[0], v[1]+v[2]); pct != t.current {
		t.current = pct
		debug.SetGCPercent(pct)
	}
	t.arm()
}
