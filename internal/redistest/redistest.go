// Package redistest gives tests the address of the Redis that
// RAMPART_TEST_REDIS names.
package redistest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Env is the variable that names the test Redis (host:port).
const Env = "RAMPART_TEST_REDIS"

// Addr returns the test Redis address, or skips the test when Env is
// unset. A set address that does not answer PING fails the test.
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(Env)
	if addr == "" {
		t.Skipf("%s is unset; set it to host:port of a Redis to run the Redis tests", Env)
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("%s=%s is unreachable: %v", Env, addr, err)
	}
	return addr
}
