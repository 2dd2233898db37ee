package limits

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rampart-gw/rampart/internal/redistest"
)

// clock is a settable time source shared by limiters under test.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// t0 is the start of a minute, so tests know where windows end.
var t0 = time.Date(2026, 3, 14, 15, 9, 0, 0, time.UTC)

// redisAddr returns the test Redis address, or skips (redistest.Addr).
func redisAddr(t testing.TB) string {
	t.Helper()
	return redistest.Addr(t)
}

// testPrefix returns a key prefix unique to this test run and deletes every
// key under it when the test ends.
func testPrefix(t testing.TB, addr string) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "rampart-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// newRedisClient returns a client with the short timeouts the package
// recommends, closed when the test ends.
func newRedisClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: addr, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond,
		MaxRetries: -1, PoolSize: 16, DialerRetries: 1,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newRedisBackend returns a Redis backend on its own client.
func newRedisBackend(t testing.TB, addr, prefix string) *Redis {
	t.Helper()
	b, err := NewRedis(newRedisClient(t, addr), RedisOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustNew builds a limiter or fails the test.
func mustNew(t testing.TB, rules []Rule, b Backend, opts Options) *Limiter {
	t.Helper()
	l, err := New(rules, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// quiet is a logger for tests that provoke backend failures on purpose.
var quiet = slog.New(slog.DiscardHandler)
