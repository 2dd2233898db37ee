package limits

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// instances returns n limiters, each on its own Redis client, sharing one
// Redis, one key prefix and one clock.
func instances(t *testing.T, n int, rules []Rule, clk *clock) ([]*Limiter, *Redis) {
	t.Helper()
	addr := redisAddr(t)
	prefix := testPrefix(t, addr)
	ls := make([]*Limiter, n)
	var b *Redis
	for i := range ls {
		b = newRedisBackend(t, addr, prefix)
		ls[i] = mustNew(t, rules, b, Options{Now: clk.Now})
	}
	return ls, b
}

// redisValue reads a counter.
func redisValue(t *testing.T, b *Redis, key string) int64 {
	t.Helper()
	v, err := b.c.Get(context.Background(), b.prefix+key).Int64()
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return v
}

// TestRedisSharedRequests: three instances under concurrent load at twice
// the rate hold 600 requests per minute, minute after minute.
func TestRedisSharedRequests(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	ls, _ := instances(t, 3, []Rule{{Name: "rpm", By: []Dimension{DimKey}, Window: Minute, Requests: 600}}, clk)
	for minute := range 3 {
		clk.Set(t0.Add(time.Duration(minute)*time.Minute + time.Second))
		var admitted atomic.Int64
		load(t, ls, 3, 400, func(l *Limiter, _ *rand.Rand) bool {
			_, d, err := l.Admit(context.Background(), Subject{Key: "k"}, Estimate{})
			if err != nil {
				t.Error(err)
				return false
			}
			if d == nil {
				admitted.Add(1)
			}
			return d == nil
		})
		within(t, "requests in one minute", admitted.Load(), 600)
		if admitted.Load() > 600 {
			t.Errorf("minute %d: %d requests admitted over a limit of 600", minute, admitted.Load())
		}
	}
}

// TestRedisSharedTokens: three instances reserve and settle concurrently
// against 20000 tokens per minute; the shared counter ends exactly equal to
// the usage settled, within 2% of the limit and never above it.
func TestRedisSharedTokens(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	ls, b := instances(t, 3, []Rule{{Name: "tpm", By: []Dimension{DimKey}, Window: Minute, TotalTokens: 20000}}, clk)
	for minute := range 2 {
		clk.Set(t0.Add(time.Duration(minute)*time.Minute + time.Second))
		var used atomic.Int64
		load(t, ls, 3, 1000, func(l *Limiter, rng *rand.Rand) bool {
			r, d, err := l.Admit(context.Background(), Subject{Key: "k"}, Estimate{InputTokens: 20, MaxOutputTokens: 80})
			if err != nil || d != nil {
				if err != nil {
					t.Error(err)
				}
				return false
			}
			u := Usage{InputTokens: 20, OutputTokens: 10 + rng.Int64N(71)}
			// Half the settlements come from a client that went away.
			ctx, cancel := context.WithCancel(context.Background())
			if rng.IntN(2) == 0 {
				cancel()
			}
			if err := r.Settle(ctx, u); err != nil {
				t.Error(err)
			}
			cancel()
			used.Add(u.InputTokens + u.OutputTokens)
			return true
		})
		start, _ := Minute.span(clk.Now())
		got := redisValue(t, b, counterKey("{tpm:k}", qTotal, start.Unix()))
		if got != used.Load() {
			t.Errorf("minute %d: counter %d, settled usage %d", minute, got, used.Load())
		}
		within(t, "tokens in one minute", got, 20000)
		if got > 20000 {
			t.Errorf("minute %d: %d tokens over a limit of 20000", minute, got)
		}
	}
}

// load runs perInstance workers on every limiter; each calls try up to
// attempts times and stops early after 50 refusals in a row, so that the
// last workers standing find whatever room refunds left.
func load(t *testing.T, ls []*Limiter, perInstance, attempts int, try func(*Limiter, *rand.Rand) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	for i, l := range ls {
		for w := range perInstance {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), uint64(w)))
				refused := 0
				for range attempts {
					if refused >= 50 || time.Now().After(deadline) {
						return
					}
					if try(l, rng) {
						refused = 0
					} else {
						refused++
					}
				}
			}()
		}
	}
	wg.Wait()
}

// TestRedisConcurrencyBurst: a burst of twice the cap across three
// instances admits exactly the cap; leases of a crashed instance expire.
func TestRedisConcurrencyBurst(t *testing.T) {
	t.Parallel()
	const limit = 12
	clk := newClock(t0)
	ls, _ := instances(t, 3, []Rule{{Name: "conc", By: []Dimension{DimKey}, Concurrent: limit}}, clk)
	var admitted, denied, slow atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 * limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			began := time.Now()
			_, d, err := ls[i%3].Admit(context.Background(), Subject{Key: "k"}, Estimate{})
			if time.Since(began) > 50*time.Millisecond {
				slow.Add(1)
			}
			switch {
			case err != nil:
				t.Error(err)
			case d != nil:
				denied.Add(1)
			default:
				admitted.Add(1) // never settled: the instance "crashed"
			}
		}()
	}
	close(start)
	wg.Wait()
	if admitted.Load() != limit || denied.Load() != limit {
		t.Fatalf("admitted %d, denied %d; want %d each", admitted.Load(), denied.Load(), limit)
	}
	if slow.Load() > 0 {
		t.Logf("%d answers took over 50ms (race detector or a loaded machine)", slow.Load())
	}
	clk.Advance(30*time.Minute + time.Second)
	if _, d, err := ls[0].Admit(context.Background(), Subject{Key: "k"}, Estimate{}); d != nil || err != nil {
		t.Errorf("after the leases expired: %v %v", d, err)
	}
}

// TestRedisRollback: when one rule refuses, the counters of the rules that
// had room are left as they were.
func TestRedisRollback(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	rules := []Rule{
		{Name: "wide", By: []Dimension{DimKey}, Window: Minute, Requests: 100, TotalTokens: 100000},
		{Name: "narrow", By: []Dimension{DimTeam}, Window: Minute, Requests: 1},
	}
	ls, b := instances(t, 1, rules, clk)
	s := Subject{Key: "k", Team: "t"}
	if _, d, err := ls[0].Admit(context.Background(), s, Estimate{InputTokens: 10, MaxOutputTokens: 10}); d != nil || err != nil {
		t.Fatalf("first: %v %v", d, err)
	}
	_, d, err := ls[0].Admit(context.Background(), s, Estimate{InputTokens: 10, MaxOutputTokens: 10})
	if err != nil || d == nil || d.Rule != "narrow" {
		t.Fatalf("second: %+v %v", d, err)
	}
	start, _ := Minute.span(t0)
	if got := redisValue(t, b, counterKey("{wide:k}", qRequests, start.Unix())); got != 1 {
		t.Errorf("wide requests = %d after a refusal, want 1", got)
	}
	if got := redisValue(t, b, counterKey("{wide:k}", qTotal, start.Unix())); got != 20 {
		t.Errorf("wide tokens = %d after a refusal, want 20", got)
	}
}

// TestRedisDown: Redis goes away mid-test (the proxy in front of it
// stops); closed mode answers 503 fast, local mode falls back, and the
// metric hook sees every failure.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	rules := []Rule{{Name: "rpm", Window: Minute, Requests: 100}}
	for _, mode := range []FailMode{FailClosed, FailLocal} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			proxy := newTCPProxy(t, addr)
			b := newRedisBackend(t, proxy.Addr(), testPrefix(t, addr))
			var failures atomic.Int64
			l := mustNew(t, rules, b, Options{FailMode: mode, Logger: quiet,
				OnBackendError: func(string, bool, error) { failures.Add(1) }})
			r, d, err := l.Admit(context.Background(), Subject{}, Estimate{})
			if err != nil || d != nil {
				t.Fatalf("with Redis up: %v %v", d, err)
			}
			proxy.Stop()
			began := time.Now()
			r2, d, err := l.Admit(context.Background(), Subject{}, Estimate{})
			took := time.Since(began)
			if took > 250*time.Millisecond {
				t.Errorf("answer with Redis down took %v", took)
			}
			switch mode {
			case FailClosed:
				if !errors.Is(err, ErrUnavailable) || r2 != nil || d != nil {
					t.Errorf("closed: %v %v %v", r2, d, err)
				}
			case FailLocal:
				if err != nil || d != nil || r2 == nil {
					t.Errorf("local: %v %v %v", r2, d, err)
				}
			}
			if err := r.Settle(context.Background(), Usage{}); err != nil {
				t.Logf("settling a Redis reservation with Redis down: %v", err)
			}
			if failures.Load() == 0 {
				t.Error("metric hook not called")
			}
		})
	}
}

// TestRedisClosedPort: a Redis address nothing listens on fails closed.
func TestRedisClosedPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	l := mustNew(t, []Rule{{Name: "rpm", Window: Minute, Requests: 1}}, newRedisBackend(t, addr, "x:"), Options{Logger: quiet})
	if _, _, err := l.Admit(context.Background(), Subject{}, Estimate{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}
