package limits

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestMemoryBounded admits 10^6 distinct keys: the backend keeps at most
// MaxEntries counters and the heap stays bounded.
func TestMemoryBounded(t *testing.T) {
	const keys, maxEntries = 1_000_000, 50_000
	clk := newClock(t0)
	m := NewMemory(MemoryOptions{MaxEntries: maxEntries})
	l := mustNew(t, []Rule{{Name: "ip", By: []Dimension{DimClientIP}, Window: Hour, Requests: 10}}, m, Options{Now: clk.Now})
	heap0 := heapInUse()
	for i := range keys {
		if _, d, err := l.Admit(context.Background(), Subject{ClientIP: "k" + strconv.Itoa(i)}, Estimate{}); err != nil || d != nil {
			t.Fatalf("admit %d: %v %v", i, d, err)
		}
	}
	n, grown := m.Len(), int64(heapInUse())-int64(heap0)
	t.Logf("%d keys: %d counters kept, %d evicted, heap grew %.1f MB", keys, n, m.Evictions(), float64(grown)/(1<<20))
	if n > maxEntries {
		t.Errorf("counters = %d, want at most %d", n, maxEntries)
	}
	if grown > 32<<20 {
		t.Errorf("heap grew %d bytes for %d counters", grown, maxEntries)
	}
	runtime.KeepAlive(m)
}

func heapInUse() uint64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.HeapInuse
}

// TestMemoryTTL checks that expired counters read as zero, are dropped as
// new ones arrive, and are all dropped by Sweep.
func TestMemoryTTL(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	m := NewMemory(MemoryOptions{MaxEntries: 1000, Shards: 1})
	l := mustNew(t, []Rule{{Name: "s", By: []Dimension{DimKey}, Window: Second, Requests: 1}}, m, Options{Now: clk.Now})
	admit := func(key string) bool {
		_, d, err := l.Admit(context.Background(), Subject{Key: key}, Estimate{})
		if err != nil {
			t.Fatal(err)
		}
		return d == nil
	}
	for i := range 1000 {
		admit("old" + strconv.Itoa(i))
	}
	if admit("old0") {
		t.Fatal("second request in the same second admitted")
	}
	clk.Advance(time.Second + expiryGrace)
	if !admit("old0") {
		t.Fatal("expired counter still counted")
	}
	// old0 is live again, so 999 new counters fill the backend exactly.
	for i := range 999 {
		admit("new" + strconv.Itoa(i))
	}
	if m.Evictions() != 0 {
		t.Errorf("%d live counters evicted while expired ones were available", m.Evictions())
	}
	clk.Advance(time.Second + expiryGrace)
	if n := m.Sweep(clk.Now()); n == 0 || m.Len() != 0 {
		t.Errorf("Sweep dropped %d, %d left", n, m.Len())
	}
}

// TestMemoryEvictsSoonest fills a shard with live counters: the one that
// expires soonest goes first.
func TestMemoryEvictsSoonest(t *testing.T) {
	t.Parallel()
	m := NewMemory(MemoryOptions{MaxEntries: 4, Shards: 1})
	vals := make([]int64, 1)
	now := t0
	for i, exp := range []time.Duration{time.Hour, time.Minute, 2 * time.Hour, 3 * time.Hour, 4 * time.Hour} {
		op := []Op{{Key: "k" + strconv.Itoa(i), Amount: 1, Expire: now.Add(exp)}}
		if _, err := m.Reserve(context.Background(), now, op, vals); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 4 || m.Evictions() != 1 || memValue(m, "k1", now) != 0 || memValue(m, "k0", now) != 1 {
		t.Errorf("len %d, evictions %d, k1 %d, k0 %d", m.Len(), m.Evictions(), memValue(m, "k1", now), memValue(m, "k0", now))
	}
}
