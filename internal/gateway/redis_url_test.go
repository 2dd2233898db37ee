package gateway

import (
	"strings"
	"testing"

	"github.com/rampart-gw/rampart/internal/config"
)

// TestRedisURLErrorHoldsNoPassword builds the limits backend from Redis URLs
// that validation would refuse, as if it were bypassed: the error, which
// `rampart serve`, the reload answer and the log show, names the problem
// without the password.
func TestRedisURLErrorHoldsNoPassword(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ url, want string }{
		{"redis://:RedisPW-SECRET@127.0.0.1:notaport/0", "limits.redis_url: invalid URL: invalid port"},
		{"redis://:RedisPW/SECRET@127.0.0.1:6379/0", "limits.redis_url: invalid URL: invalid port"},
		{"redis://:RedisPW-SECRET@127.0.0.1:6379/zero", `limits.redis_url: redis: invalid database number: "zero"`},
		{"http://:RedisPW-SECRET@127.0.0.1:6379", "limits.redis_url: redis: invalid URL scheme: http"},
	} {
		g := &Gateway{}
		be, err := g.limitBackend(config.Limits{Backend: "redis", RedisURL: tt.url})
		if err == nil {
			be.client.Close()
			t.Fatalf("%s: accepted", tt.url)
		}
		if got := err.Error(); got != tt.want {
			t.Errorf("%s: error %q, want %q", tt.url, got, tt.want)
		}
		for _, s := range []string{"SECRET", "RedisPW"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("the error holds the password (%q): %v", s, err)
			}
		}
	}
}
