package config

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/redis/go-redis/v9"
)

// urlSecret is the password of every URL below; no message may quote it,
// nor any part of it.
const urlSecret = "RedisPW-SECRET"

// TestValidateSecretURLs checks limits.redis_url and guards.external[].url
// at load: each problem is reported at its path and line, says what is
// wrong, and never quotes the password.
func TestValidateSecretURLs(t *testing.T) {
	t.Parallel()
	redisAt := func(u string) string {
		return minimal + "limits:\n  backend: redis\n  redis_url: \"" + u + "\"\n"
	}
	guardAt := func(u string) string {
		return minimal + "guards:\n  external:\n    - name: hook\n      type: webhook\n      url: \"" + u + "\"\n"
	}
	for _, tt := range []struct {
		desc, src string
		want      string // a line of FormatErrors output, or a part of one
	}{
		{"redis bad port", redisAt("redis://:" + urlSecret + "@127.0.0.1:notaport/0"),
			"test.yaml:9: limits.redis_url: invalid URL: invalid port;"},
		{"redis bad port with user", redisAt("rediss://admin:" + urlSecret + "@redis.internal:6x79"),
			"test.yaml:9: limits.redis_url: invalid URL: invalid port;"},
		{"redis unescaped slash in password", redisAt("redis://:RedisPW/SECRET@127.0.0.1:6379/0"),
			"test.yaml:9: limits.redis_url: invalid URL: invalid port;"},
		{"redis bad escape", redisAt("redis://:" + urlSecret + "%zz@127.0.0.1:6379"),
			"test.yaml:9: limits.redis_url: invalid URL: invalid percent escape;"},
		{"redis wrong scheme", redisAt("http://:" + urlSecret + "@127.0.0.1:6379"),
			`test.yaml:9: limits.redis_url: unsupported scheme "http";`},
		{"redis no scheme", redisAt("redis.internal:6379"),
			`test.yaml:9: limits.redis_url: unsupported scheme "redis.internal";`},
		{"redis host and port only", redisAt("127.0.0.1:6379"),
			"test.yaml:9: limits.redis_url: invalid URL: colon in first path segment (missing scheme?);"},
		{"redis opaque", redisAt("redis:" + urlSecret + "@h"),
			`test.yaml:9: limits.redis_url: missing "//" after the scheme`},
		{"redis bad database", redisAt("redis://:" + urlSecret + "@127.0.0.1:6379/zero"),
			`test.yaml:9: limits.redis_url: invalid database number: "zero"`},
		{"redis unknown option", redisAt("redis://:" + urlSecret + "@127.0.0.1:6379/0?colour=blue"),
			"test.yaml:9: limits.redis_url: unexpected option: colour"},
		{"unix without path", redisAt("unix://:" + urlSecret + "@"),
			"test.yaml:9: limits.redis_url: empty unix socket path"},
		{"guard bad port", guardAt("https://u:" + urlSecret + "@guard.internal:notaport/check"),
			"test.yaml:11: guards.external[0].url: invalid URL: invalid port;"},
		{"guard wrong scheme", guardAt("ftp://u:" + urlSecret + "@guard.internal/check"),
			`test.yaml:11: guards.external[0].url: invalid URL "ftp://u:[REDACTED]@guard.internal/check"; want an absolute http or https URL`},
		{"guard without host", guardAt("http://u:" + urlSecret + "@:8080/check"),
			`test.yaml:11: guards.external[0].url: invalid URL "http://u:[REDACTED]@:8080/check"`},
		{"guard relative", guardAt("/check"),
			`test.yaml:11: guards.external[0].url: invalid URL "/check"`},
		{"guard bad host", guardAt("http://u:" + urlSecret + "@gu ard/check"),
			"test.yaml:11: guards.external[0].url: invalid URL: invalid character in host name;"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.src), "test.yaml", lookupTestEnv)
			if err == nil {
				t.Fatalf("Parse accepted the URL (%+v); want %q", c, tt.want)
			}
			out := FormatErrors(err)
			if !strings.Contains(out, tt.want) {
				t.Errorf("problems:\n%s\nwant a line containing %q", out, tt.want)
			}
			for _, s := range []string{urlSecret, "SECRET", "RedisPW"} {
				if strings.Contains(out, s) {
					t.Errorf("a message quotes the password (%q):\n%s", s, out)
				}
			}
		})
	}
}

func TestValidateAcceptsSecretURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://127.0.0.1:6379",
		"redis://:" + urlSecret + "@127.0.0.1:6379/0",
		"redis://user:" + url.QueryEscape("p@ss/w#rd") + "@redis.internal/3?dial_timeout=2s",
		"rediss://redis.internal:6380",
		"redis://[::1]:6379/1",
		"unix:///run/redis.sock?db=2",
		"unix://:" + urlSecret + "@/run/redis.sock",
	} {
		c := validConfig()
		c.Limits.Backend = "redis"
		c.Limits.RedisURL = u
		if err := c.Validate(); err != nil {
			t.Errorf("redis_url %q: %v", u, err)
		}
	}
	c := validConfig()
	c.Limits.RedisURL = "redis://:" + urlSecret + "@127.0.0.1:notaport" // not used: backend memory
	if err := c.Validate(); err != nil {
		t.Errorf("an unused redis_url was checked: %v", err)
	}
	for _, u := range []string{"http://127.0.0.1:9000/check", "https://u:" + urlSecret + "@guard.internal/v1/moderations"} {
		c := validConfig()
		c.Guards.External = []guard.ExternalConfig{{Name: "x", Type: "webhook", URL: u}}
		if err := c.Validate(); err != nil {
			t.Errorf("guard url %q: %v", u, err)
		}
	}
}

// TestURLError checks the run-time helper with the errors go-redis returns.
func TestURLError(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"redis://:" + urlSecret + "@127.0.0.1:notaport/0",
		"redis://:RedisPW/SECRET@127.0.0.1:6379/0",
		"redis://:" + urlSecret + "@127.0.0.1:6379/zero",
		"redis://:" + urlSecret + "@127.0.0.1:6379/0?colour=blue",
		"http://:" + urlSecret + "@127.0.0.1:6379",
	} {
		_, perr := redis.ParseURL(raw)
		if perr == nil {
			t.Fatalf("go-redis accepted %q", raw)
		}
		err := URLError(raw, perr)
		if err == nil || err.Error() == "" {
			t.Fatalf("URLError(%q) = %v", raw, err)
		}
		for _, s := range []string{"SECRET", "RedisPW"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("URLError(%q) = %q: holds the password", raw, err)
			}
		}
	}
	if URLError("redis://h", nil) != nil {
		t.Error("URLError of nil is not nil")
	}
	// Parse failures are named, without the URL.
	_, perr := redis.ParseURL("redis://:" + urlSecret + "@127.0.0.1:notaport/0")
	if got := URLError("redis://:"+urlSecret+"@127.0.0.1:notaport/0", perr).Error(); got != "invalid URL: invalid port" {
		t.Errorf("URLError = %q, want %q", got, "invalid URL: invalid port")
	}
	var ue *url.Error
	if errors.As(URLError("redis://:x@h:p", perr), &ue) {
		t.Error("URLError keeps the *url.Error, which quotes the URL")
	}
}
