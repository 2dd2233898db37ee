package limits

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkMemoryAdmit is one admission against the memory backend with a
// per-key rule on requests and tokens, as most deployments configure it.
func BenchmarkMemoryAdmit(b *testing.B) {
	l := mustNew(b, []Rule{{Name: "per-key", By: []Dimension{DimKey}, Window: Minute, Requests: 1 << 50, TotalTokens: 1 << 50}},
		NewMemory(MemoryOptions{}), Options{})
	s := Subject{Key: "rk_8f3a2c", Model: "deepseek-chat"}
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if _, d, err := l.Admit(ctx, s, Estimate{InputTokens: 100, MaxOutputTokens: 100}); err != nil || d != nil {
			b.Fatal(d, err)
		}
	}
	reportCPU(b, cpu)
}

// reportCPU reports the CPU time per op since start. On a shared, loaded
// machine wall time per op overstates the cost; CPU time per op (reported
// as cpu-ns/op) does not.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkMemoryAdmitSettle is a whole request's work: admission and
// settlement, from parallel goroutines over many keys.
func BenchmarkMemoryAdmitSettle(b *testing.B) {
	l := mustNew(b, []Rule{
		{Name: "per-key", By: []Dimension{DimKey}, Window: Minute, Requests: 1 << 50, TotalTokens: 1 << 50},
		{Name: "conc", By: []Dimension{DimKey}, Concurrent: 1 << 20},
	}, NewMemory(MemoryOptions{}), Options{})
	keys := make([]Subject, 1024)
	for i := range keys {
		keys[i] = Subject{Key: "rk_" + strconv.Itoa(i)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			r, d, err := l.Admit(ctx, keys[i%len(keys)], Estimate{InputTokens: 100, MaxOutputTokens: 100})
			if err != nil || d != nil {
				b.Fatal(d, err)
			}
			_ = r.Settle(ctx, Usage{InputTokens: 100, OutputTokens: 50})
		}
	})
	reportCPU(b, cpu)
}

// BenchmarkRedisAdmit is one admission round trip to Redis, and
// BenchmarkRedisAdmitSettle the two round trips of a whole request.
func BenchmarkRedisAdmit(b *testing.B) {
	l := redisBenchLimiter(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, d, err := l.Admit(ctx, Subject{Key: "k"}, Estimate{InputTokens: 100, MaxOutputTokens: 100}); err != nil || d != nil {
			b.Fatal(d, err)
		}
	}
}

func BenchmarkRedisAdmitSettle(b *testing.B) {
	l := redisBenchLimiter(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r, d, err := l.Admit(ctx, Subject{Key: "k"}, Estimate{InputTokens: 100, MaxOutputTokens: 100})
		if err != nil || d != nil {
			b.Fatal(d, err)
		}
		if err := r.Settle(ctx, Usage{InputTokens: 100, OutputTokens: 50}); err != nil {
			b.Fatal(err)
		}
	}
}

func redisBenchLimiter(b *testing.B) *Limiter {
	addr := redisAddr(b)
	return mustNew(b, []Rule{
		{Name: "per-key", By: []Dimension{DimKey}, Window: Minute, Requests: 1 << 50, TotalTokens: 1 << 50},
		{Name: "conc", By: []Dimension{DimKey}, Concurrent: 1 << 20},
	}, newRedisBackend(b, addr, testPrefix(b, addr)), Options{})
}

// BenchmarkMemoryReserve is the memory backend's check alone: two counters
// of one rule checked and incremented under their shard locks.
func BenchmarkMemoryReserve(b *testing.B) {
	m := NewMemory(MemoryOptions{})
	now := time.Now()
	ops := []Op{
		{Key: "{per-key:rk_8f3a2c}:r:1773500940", Limit: 1 << 50, Amount: 1, Expire: now.Add(time.Minute)},
		{Key: "{per-key:rk_8f3a2c}:t:1773500940", Limit: 1 << 50, Amount: 200, Expire: now.Add(time.Minute)},
	}
	vals := make([]int64, len(ops))
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if d, err := m.Reserve(ctx, now, ops, vals); err != nil || d >= 0 {
			b.Fatal(d, err)
		}
	}
	reportCPU(b, cpu)
}
