package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/rampart-gw/rampart/internal/limits"
)

// validConfig is a valid configuration built in code, without defaults, so
// that each case changes one thing.
func validConfig() *Config {
	return &Config{
		Listen: Listener{Addr: "127.0.0.1:8080", TrustedProxies: []string{"10.0.0.0/8", "fd00::/8"}},
		Admin:  Admin{Addr: "127.0.0.1:9090"},
		Auth: Auth{StaticKeys: []StaticKey{
			{Name: "ci", Key: "ci-key-0123456789abcdef"},
			{Name: "batch", Key: "batch-key-0123456789abcdef", Models: []string{"deepseek-*"}},
		}},
		Upstreams: map[string]*Upstream{
			"deepseek": {URL: "https://api.deepseek.com/v1", Flavor: "deepseek", Public: true},
			"r1-local": {URL: "http://10.0.0.5:8000/v1", Flavor: "vllm", TLS: &ClientTLS{InsecureSkipVerify: true}},
		},
		Routes: []*Route{{
			Name:      "reasoner",
			Models:    []string{"deepseek-reasoner", "deepseek-r1*"},
			Aliases:   map[string]string{"r1": "deepseek-reasoner"},
			Upstreams: []Target{{Upstream: "r1-local"}, {Upstream: "deepseek", Model: "deepseek-reasoner"}},
			Reasoning: "strip",
		}},
		Log: Log{Level: "debug", Format: "text"},
	}
}

func TestValidateAcceptsValid(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc string
		c    *Config
	}{
		{"without defaults", validConfig()},
		{"with defaults", func() *Config { c := validConfig(); c.SetDefaults(); return c }()},
		{"admin off", func() *Config { c := validConfig(); c.Admin.Addr = "off"; return c }()},
		{"public admin with token", func() *Config {
			c := validConfig()
			c.Admin = Admin{Addr: "0.0.0.0:9090", Token: "t"}
			return c
		}()},
		{"demo", Demo(t.TempDir(), "http://127.0.0.1:8000/v1")},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if err := tt.c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		change func(c *Config)
		path   string
		msg    string
	}{
		{"bad listen addr", func(c *Config) { c.Listen.Addr = "8080" }, "listen.addr", "want host:port"},
		{"bad port", func(c *Config) { c.Listen.Addr = "127.0.0.1:99999" }, "listen.addr", "invalid port"},
		{"bad host", func(c *Config) { c.Listen.Addr = "exa mple:80" }, "listen.addr", "invalid host"},
		{"same addr", func(c *Config) { c.Admin.Addr = "127.0.0.1:8080" }, "admin.addr", "never shares the client listener"},
		{"wildcard overlap", func(c *Config) { c.Listen.Addr = ":9090" }, "admin.addr", "overlaps"},
		{"default overlap", func(c *Config) { c.Listen.Addr = ""; c.Admin.Addr = "localhost:8080" }, "admin.addr", "overlaps"},
		{"public admin without token", func(c *Config) { c.Admin.Addr = "0.0.0.0:9090" }, "admin.addr", "set admin.token"},
		{"all-interfaces admin without token", func(c *Config) { c.Admin.Addr = ":9090" }, "admin.addr", "not a loopback address"},
		{"cert without key", func(c *Config) { c.Listen.TLS = &ServerTLS{CertFile: "a.crt"} }, "listen.tls.key_file", "required when cert_file"},
		{"key without cert", func(c *Config) { c.Admin.TLS = &ServerTLS{KeyFile: "a.key"} }, "admin.tls.cert_file", "required when key_file"},
		{"client CA without cert", func(c *Config) { c.Listen.TLS = &ServerTLS{ClientCAFile: "ca.pem"} }, "listen.tls.cert_file", "required"},
		{"bad client_auth", func(c *Config) {
			c.Listen.TLS = &ServerTLS{CertFile: "a", KeyFile: "b", ClientAuth: "maybe"}
		}, "listen.tls.client_auth", "none, request or require"},
		{"require without CA", func(c *Config) {
			c.Listen.TLS = &ServerTLS{CertFile: "a", KeyFile: "b", ClientAuth: "require"}
		}, "listen.tls.client_ca_file", "required when client_auth is require"},
		{"bad min_version", func(c *Config) {
			c.Listen.TLS = &ServerTLS{CertFile: "a", KeyFile: "b", MinVersion: "1.1"}
		}, "listen.tls.min_version", `"1.2" or "1.3"`},
		{"upstream TLS half pair", func(c *Config) { c.Upstreams["deepseek"].TLS = &ClientTLS{CertFile: "c"} }, "upstreams.deepseek.tls.key_file", "required"},
		{"upstream TLS version", func(c *Config) { c.Upstreams["deepseek"].TLS = &ClientTLS{MinVersion: "1.0"} }, "upstreams.deepseek.tls.min_version", "1.3"},
		{"negative body cap", func(c *Config) { c.Listen.MaxBodyBytes = -1 }, "listen.max_body_bytes", "must not be negative"},
		{"negative in-flight", func(c *Config) { c.Listen.MaxInFlight = -1 }, "listen.max_in_flight", "must not be negative"},
		{"negative timeout", func(c *Config) { c.Listen.WriteIdleTimeout = -time.Second }, "listen.write_idle_timeout", "must not be negative"},
		{"negative upstream timeout", func(c *Config) { c.Upstreams["deepseek"].Timeouts.Total = -1 }, "upstreams.deepseek.timeouts.total", "must not be negative"},
		{"bad CIDR", func(c *Config) { c.Listen.TrustedProxies = []string{"10.0.0.0/8", "10.0.0.1"} }, "listen.trusted_proxies[1]", "invalid CIDR"},
		{"no upstreams", func(c *Config) { c.Upstreams = nil }, "upstreams", "at least one"},
		{"nil upstream", func(c *Config) { c.Upstreams["x"] = nil }, "upstreams.x.url", "required"},
		{"bad upstream name", func(c *Config) { c.Upstreams["a/b"] = &Upstream{URL: "http://h"} }, `upstreams["a/b"]`, "invalid upstream name"},
		{"missing url", func(c *Config) { c.Upstreams["deepseek"].URL = "" }, "upstreams.deepseek.url", "required"},
		{"relative url", func(c *Config) { c.Upstreams["deepseek"].URL = "/v1" }, "upstreams.deepseek.url", "absolute http or https"},
		{"ftp url", func(c *Config) { c.Upstreams["deepseek"].URL = "ftp://h/v1" }, "upstreams.deepseek.url", "absolute http or https"},
		{"canary for an unknown route", func(c *Config) {
			c.Guards.PromptLeak.CanaryRoutes = map[string]bool{"nope": true}
		}, "guards.prompt_leak.canary_routes.nope", "names no route"},
		{"external guard applied to nothing known", func(c *Config) {
			c.Guards.External = []guard.ExternalConfig{{Name: "x", Type: "webhook", URL: "http://h", ApplyTo: []string{"answer"}}}
		}, "guards.external[0].apply_to[0]", "not input or output"},
		{"url without host", func(c *Config) { c.Upstreams["deepseek"].URL = "http://:80/v1" }, "upstreams.deepseek.url", "absolute http or https"},
		{"bad flavor", func(c *Config) { c.Upstreams["deepseek"].Flavor = "llama" }, "upstreams.deepseek.flavor", `not "llama"`},
		{"bad header name", func(c *Config) { c.Upstreams["deepseek"].Headers = map[string]string{"X Bad": "v"} }, `upstreams.deepseek.headers["X Bad"]`, "invalid header name"},
		{"header injection", func(c *Config) { c.Upstreams["deepseek"].Headers = map[string]string{"X-A": "v\r\nHost: evil"} }, "upstreams.deepseek.headers.X-A", "invalid header value"},
		{"negative idle conns", func(c *Config) { c.Upstreams["deepseek"].MaxIdleConns = -2 }, "upstreams.deepseek.max_idle_conns", "negative"},
		{"no routes", func(c *Config) { c.Routes = nil }, "routes", "at least one route"},
		{"nil route", func(c *Config) { c.Routes = append(c.Routes, nil) }, "routes[1].models", "required"},
		{"no models", func(c *Config) { c.Routes[0].Models = nil }, "routes[0].models", "at least one model"},
		{"empty model", func(c *Config) { c.Routes[0].Models = []string{""} }, "routes[0].models[0]", "empty model name"},
		{"bad pattern", func(c *Config) { c.Routes[0].Models = []string{"a", "[x"} }, "routes[0].models[1]", "invalid model pattern"},
		{"unknown upstream", func(c *Config) { c.Routes[0].Upstreams[0].Upstream = "r1-locl" }, "routes[0].upstreams[0]", `unknown upstream "r1-locl" (did you mean "r1-local"?)`},
		{"empty target", func(c *Config) { c.Routes[0].Upstreams[1] = Target{Model: "m"} }, "routes[0].upstreams[1]", "upstream name required"},
		{"no targets", func(c *Config) { c.Routes[0].Upstreams = nil }, "routes[0].upstreams", "at least one upstream"},
		{"duplicate route", func(c *Config) {
			c.Routes = append(c.Routes, &Route{Name: "reasoner", Models: []string{"x"}, Upstreams: []Target{{Upstream: "deepseek"}}})
		}, "routes[1].name", "duplicate route name"},
		{"bad reasoning", func(c *Config) { c.Routes[0].Reasoning = "hide" }, "routes[0].reasoning", "pass, strip or separate"},
		{"empty alias target", func(c *Config) { c.Routes[0].Aliases["r1"] = "" }, "routes[0].aliases.r1", "empty model name"},
		{"empty alias name", func(c *Config) { c.Routes[0].Aliases[""] = "x" }, `routes[0].aliases[""]`, "empty alias name"},
		{"negative attempts", func(c *Config) { c.Routes[0].Retries.MaxAttempts = -1 }, "routes[0].retries.max_attempts", "negative"},
		{"negative heartbeat", func(c *Config) { c.Routes[0].Heartbeat = -1 }, "routes[0].heartbeat", "negative"},
		{"negative max_tokens", func(c *Config) { c.Routes[0].MaxTokens = -1 }, "routes[0].max_tokens", "negative"},
		{"static key without name", func(c *Config) { c.Auth.StaticKeys[0].Name = "" }, "auth.static_keys[0].name", "required"},
		{"static key without key", func(c *Config) { c.Auth.StaticKeys[0].Key = "" }, "auth.static_keys[0].key", "required"},
		{"short static key", func(c *Config) { c.Auth.StaticKeys[0].Key = "0123456789abcdefghi" }, "auth.static_keys[0].key", "at least 20"},
		{"duplicate static key", func(c *Config) { c.Auth.StaticKeys[1].Key = c.Auth.StaticKeys[0].Key }, "auth.static_keys[1].key", "same key as auth.static_keys[0]"},
		{"duplicate key name", func(c *Config) { c.Auth.StaticKeys[1].Name = "ci" }, "auth.static_keys[1].name", "duplicate name"},
		{"bad key model", func(c *Config) { c.Auth.StaticKeys[1].Models = []string{"["} }, "auth.static_keys[1].models[0]", "invalid model pattern"},
		{"bad log level", func(c *Config) { c.Log.Level = "trace" }, "log.level", "debug, info, warn or error"},
		{"bad log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", "json or text"},
		{"dlp problem under one dlp prefix", func(c *Config) { c.DLP.MinScore = 2 }, "dlp.min_score", "outside 0..1"},
		{"dlp custom problems each on its own", func(c *Config) {
			c.DLP.Custom = []dlp.CustomDetector{{Type: "lower", Pattern: "("}}
		}, "dlp.custom[0].pattern", "missing closing"},
		{"dlp terms score", func(c *Config) {
			c.DLP.Terms = []dlp.TermDictionary{{Type: "P", Terms: []string{"x"}, Score: 2}}
		}, "dlp.terms[0].score", "outside 0..1"},
		{"limits rule without a name", func(c *Config) {
			c.Limits.Rules = []limits.Rule{{Window: limits.Minute, Requests: 1}}
		}, "limits.rules[0].name", "required"},
		{"limits rule name with spaces", func(c *Config) {
			c.Limits.Rules = []limits.Rule{{Name: "a b", Window: limits.Minute, Requests: 1}}
		}, "limits.rules[0].name", "must be 1-64"},
		{"limits rule window", func(c *Config) {
			c.Limits.Rules = []limits.Rule{{Name: "a", Window: "fortnight", Requests: 1}}
		}, "limits.rules[0].window", `"fortnight" must be`},
		{"limits rule negative", func(c *Config) {
			c.Limits.Rules = []limits.Rule{{Name: "a", Window: limits.Minute, Requests: -1}}
		}, "limits.rules[0].requests", "must not be negative"},
		{"limits rule dimension", func(c *Config) {
			c.Limits.Rules = []limits.Rule{{Name: "a", Window: limits.Minute, Requests: 1, By: []limits.Dimension{"colour"}}}
		}, "limits.rules[0].by[0]", `unknown dimension "colour"`},
		{"limits rule without a quantity", func(c *Config) {
			c.Limits.Rules = []limits.Rule{{Name: "a", Window: limits.Minute}}
		}, "limits.rules[0].requests", "limits nothing"},
		{"limits rule client ip", func(c *Config) {
			c.Limits.Rules = []limits.Rule{{Name: "a", Window: limits.Minute, Requests: 1,
				Match: limits.Selector{ClientIP: []string{"10.0.0.1", "not-an-ip"}}}}
		}, "limits.rules[0].match.client_ip[1]", `"not-an-ip" is not an IP address or a CIDR`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.change(c)
			err := c.Validate()
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Validate() = %v, want *Errors", err)
			}
			for _, fe := range errs.List {
				if fe.Path == tt.path && strings.Contains(fe.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("problems:\n%v\nwant %s: ...%s...", err, tt.path, tt.msg)
		})
	}
}

// TestValidateReportsAll breaks many fields at once and expects a problem
// for each, not only the first.
func TestValidateReportsAll(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.Listen.Addr = "nope"
	c.Upstreams["deepseek"].URL = ""
	c.Routes[0].Reasoning = "x"
	c.Log.Format = "xml"
	c.Auth.StaticKeys[0].Key = "short"
	var errs *Errors
	if !errors.As(c.Validate(), &errs) || len(errs.List) != 5 {
		t.Fatalf("want 5 problems, got %v", errs)
	}
}

// TestValidateMessagesHoldNoSecrets breaks every secret field and checks that
// no message quotes the secret.
func TestValidateMessagesHoldNoSecrets(t *testing.T) {
	t.Parallel()
	c := validConfig()
	key := "dup-secret-key-value-0123456789"
	c.Auth.StaticKeys[0].Key = key
	c.Auth.StaticKeys[1].Key = key
	c.Auth.StaticKeys = append(c.Auth.StaticKeys, StaticKey{Name: "x", Key: "tiny-secret"})
	c.Upstreams["deepseek"].Headers = map[string]string{"X-Secret": "hdr-secret\nvalue"}
	c.Upstreams["deepseek"].URL = "ftp://user:url-secret@h/v1"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted broken secrets")
	}
	for _, s := range []string{key, "tiny-secret", "hdr-secret", "url-secret"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("a message quotes secret %q:\n%v", s, err)
		}
	}
}

func TestValidateIsNilInterfaceWhenValid(t *testing.T) {
	t.Parallel()
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("Validate() = %#v, want a nil error interface", err)
	}
}

// TestValidateLeavesConfigAlone checks that Validate, which defaults each
// stage's section on a copy to check it, never writes into the caller's
// lists.
func TestValidateLeavesConfigAlone(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.Guards.External = []guard.ExternalConfig{{Name: "x", Type: "webhook", URL: "http://h"}}
	c.DLP.Custom = []dlp.CustomDetector{{Type: "EMP", Pattern: `EMP-\d+`}}
	c.DLP.Terms = []dlp.TermDictionary{{Type: "P", Terms: []string{"x"}}}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	tests := []struct {
		desc string
		ok   bool
	}{
		{"guards.external[0].fail_mode", c.Guards.External[0].FailMode == ""},
		{"guards.external[0].apply_to", c.Guards.External[0].ApplyTo == nil},
		{"dlp.custom[0].score", c.DLP.Custom[0].Score == 0},
		{"dlp.terms[0].score", c.DLP.Terms[0].Score == 0},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Errorf("Validate changed %s", tt.desc)
		}
	}
}

// TestAddSection checks how a stage's errors become problems: one per
// joined error, at any depth, each under the section's path.
func TestAddSection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		err  error
		want []FieldError
	}{
		{"nil", nil, nil},
		{"one field", errors.New("mode: bad"), []FieldError{{Path: "s.mode", Msg: "bad"}}},
		{"no field", errors.New("broken"), []FieldError{{Path: "s", Msg: "broken"}}},
		{"nested joins", errors.Join(errors.New("a: x"), errors.Join(errors.New("b[0].c: y"), errors.New("d: z"))),
			[]FieldError{{Path: "s.a", Msg: "x"}, {Path: "s.b[0].c", Msg: "y"}, {Path: "s.d", Msg: "z"}}},
		{"one message wrapping two errors", fmt.Errorf("e: %w: %w", errors.New("p"), errors.New("q")),
			[]FieldError{{Path: "s.e", Msg: "p: q"}}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			errs := &Errors{}
			addSection(errs, "s", tt.err)
			if !reflect.DeepEqual(errs.List, tt.want) {
				t.Errorf("problems = %+v, want %+v", errs.List, tt.want)
			}
		})
	}
}
