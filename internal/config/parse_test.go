package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid configuration; tests append to it.
const minimal = `
upstreams:
  sim: {url: "http://127.0.0.1:8000/v1", flavor: deepseek}
routes:
  - models: [deepseek-reasoner, deepseek-chat]
    upstreams: [sim]
`

func mustParse(t testing.TB, src string) *Config {
	t.Helper()
	c, err := Parse([]byte(src), "test.yaml", lookupTestEnv)
	if err != nil {
		t.Fatalf("Parse: %s", FormatErrors(err))
	}
	return c
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		src  string
		want string // a line of FormatErrors output, or a part of one
	}{
		{"empty file", "", "test.yaml: empty configuration"},
		{"comments only", "# nothing here\n", "test.yaml: empty configuration"},
		{"null document", "~\n", "empty configuration"},
		{"document separator only", "---\n", "empty configuration"},
		{"scalar root", "hello\n", "test.yaml:1: the configuration must be a mapping"},
		{"two documents", minimal + "---\nlog: {level: debug}\n", "more than one YAML document"},
		{"syntax error", "listen: [\n", "invalid YAML"},
		{"unknown top-level key", minimal + "upstream: {}\n", `test.yaml:7: upstream: unknown field (did you mean "upstreams"?)`},
		{"unknown key without suggestion", minimal + "zzzzzzzz: 1\n", "test.yaml:7: zzzzzzzz: unknown field\n"},
		{"duplicate key", minimal + "log: {level: info, level: debug}\n", "test.yaml:7: log.level: duplicate key"},
		{"bare number duration", minimal + "listen: {idle_timeout: 30}\n", `listen.idle_timeout: duration 30 has no unit: add one, such as "30s"`},
		{"bare zero duration", minimal + "listen: {idle_timeout: 0}\n", "listen.idle_timeout: duration 0 has no unit"},
		{"bad duration", minimal + "listen: {idle_timeout: 1 hour}\n", `listen.idle_timeout: invalid duration "1 hour"`},
		{"negative duration", minimal + "listen: {idle_timeout: -1s}\n", "listen.idle_timeout: must not be negative"},
		{"int from string", minimal + "listen: {max_in_flight: lots}\n", `listen.max_in_flight: expected a whole number, got "lots"`},
		{"int overflow", minimal + "listen: {max_in_flight: 99999999999999999999}\n", "listen.max_in_flight: expected a whole number"},
		{"mapping for string", minimal + "data_dir: {a: b}\n", "data_dir: expected a single value, got a mapping"},
		{"target of wrong shape", strings.Replace(minimal, "[sim]", "[[sim]]", 1), "routes[0].upstreams[0]: expected an upstream name or a mapping"},
		{"target unknown field", strings.Replace(minimal, "[sim]", "[{upstream: sim, modle: x}]", 1), `routes[0].upstreams[0].modle: unknown field (did you mean "model"?)`},
		{"unset variable", minimal + "admin:\n  token: ${NOPE}\n", "test.yaml:8: admin.token: environment variable NOPE is not set"},
		{"unterminated variable", minimal + "admin: {token: ${NOPE}\n", "invalid YAML"},
		{"unterminated variable in string", minimal + "admin: {token: \"${NOPE\"}\n", "admin.token: unterminated ${"},
		{"bad variable name", minimal + "admin: {token: \"${1X}\"}\n", `admin.token: invalid environment variable name "1X"`},
		{"no upstreams", "routes: [{models: [a], upstreams: [x]}]\n", "upstreams: at least one upstream is required"},
		{"no routes", "upstreams: {sim: {url: \"http://127.0.0.1:8000\"}}\n", "routes: at least one route is required"},
		{"empty upstream entry", strings.Replace(minimal, "sim: {url: \"http://127.0.0.1:8000/v1\", flavor: deepseek}", "sim:", 1), "test.yaml:3: upstreams.sim.url: required"},
		{"quoted odd upstream name", strings.ReplaceAll(minimal, "sim", "\"a b\""), `upstreams["a b"]: invalid upstream name "a b"`},
		{"alias bomb", aliasBomb(), "document too complex"},
		{"self merge", minimal + "log: &l {<<: *l}\n", "log: merge keys nested too deeply"},
		{"too large", strings.Repeat("#", MaxFileBytes+1), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.src), "test.yaml", lookupTestEnv)
			if err == nil {
				t.Fatalf("Parse succeeded (%+v); want a problem containing %q", c, tt.want)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			if out := FormatErrors(err); !strings.Contains(out, tt.want) {
				t.Errorf("problems:\n%s\nwant a line containing %q", out, tt.want)
			}
		})
	}
}

// aliasBomb builds a few lines that describe billions of mapping entries
// through nested merge keys.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 {k: v}\n")
	for i := 1; i < 10; i++ {
		prev := fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&b, "a%d: &a%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(prev+", ", 10), ", "))
	}
	b.WriteString(minimal)
	b.WriteString("listen: {<<: *a9}\n")
	return b.String()
}

func TestParseFormsAndExpansion(t *testing.T) {
	t.Parallel()
	src := `
listen:
  addr: ${LISTEN:-127.0.0.1:18080}
  trusted_proxies: [10.0.0.0/8]
base: &base
upstreams:
  sim:
    url: "http://127.0.0.1:8000/v1"
    api_key: ${DEEPSEEK_API_KEY}
    headers: {X-Note: "cost: $$5 and $HOME", X-Empty: "${EMPTY:-fallback}"}
  ollama: &ollama
    url: http://127.0.0.1:11434/v1
    flavor: ollama
    timeouts: {first_byte: 2m, idle: 90s}
  ollama2:
    <<: *ollama
    url: http://127.0.0.2:11434/v1
routes:
  - name: r1
    models: [deepseek-*]
    upstreams:
      - sim
      - {upstream: ollama, model: "deepseek-r1:7b"}
    retries: {max_attempts: 5, backoff: 100ms}
`
	src = strings.Replace(src, "base: &base\n", "", 1)
	c := mustParse(t, src)
	if got := c.Listen.Addr; got != "127.0.0.1:18080" {
		t.Errorf("listen.addr = %q, want the default from ${LISTEN:-...}", got)
	}
	sim := c.Upstreams["sim"]
	if sim.APIKey != testEnv["DEEPSEEK_API_KEY"] {
		t.Errorf("api_key = %q, want the environment value", sim.APIKey)
	}
	if got := sim.Headers["X-Note"]; got != "cost: $5 and $HOME" {
		t.Errorf("X-Note = %q: $$ must give $ and a lone $ stays", got)
	}
	if got := sim.Headers["X-Empty"]; got != "fallback" {
		t.Errorf("X-Empty = %q: the default applies to an empty variable", got)
	}
	want := []Target{{Upstream: "sim"}, {Upstream: "ollama", Model: "deepseek-r1:7b"}}
	if got := c.Routes[0].Upstreams; !reflect.DeepEqual(got, want) {
		t.Errorf("targets = %+v, want %+v", got, want)
	}
	o2 := c.Upstreams["ollama2"]
	if o2.URL != "http://127.0.0.2:11434/v1" || o2.Flavor != "ollama" || o2.Timeouts.FirstByte != 2*time.Minute {
		t.Errorf("merged upstream = %+v: want the merge with the explicit url winning", o2)
	}
	if r := c.Routes[0].Retries; r.MaxAttempts != 5 || r.Backoff != 100*time.Millisecond {
		t.Errorf("retries = %+v", r)
	}
}

// TestExpansionCannotInjectStructure gives a variable YAML text and checks
// that it lands in one string instead of adding keys.
func TestExpansionCannotInjectStructure(t *testing.T) {
	t.Parallel()
	evil := "x\nauth:\n  anonymous: true\nadmin: {addr: \"0.0.0.0:9090\"}"
	env := func(name string) (string, bool) {
		if name == "EVIL" {
			return evil, true
		}
		return lookupTestEnv(name)
	}
	c, err := Parse([]byte(minimal+"admin: {token: \"${EVIL}\"}\n"), "test.yaml", env)
	if err != nil {
		t.Fatalf("Parse: %s", FormatErrors(err))
	}
	if c.Admin.Token != evil || c.Auth.Anonymous || c.Admin.Addr != DefaultAdminAddr {
		t.Errorf("variable changed the structure: token=%q anonymous=%v admin=%q", c.Admin.Token, c.Auth.Anonymous, c.Admin.Addr)
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in, want, problem string
	}{
		{"plain", "abc", "abc", ""},
		{"set", "k=${CI_KEY}", "k=" + testEnv["CI_KEY"], ""},
		{"default unused", "${CI_KEY:-d}", testEnv["CI_KEY"], ""},
		{"default used when unset", "${NOPE:-d:e}", "d:e", ""},
		{"empty default", "${NOPE:-}", "", ""},
		{"set but empty", "<${EMPTY}>", "<>", ""},
		{"escaped", "$${CI_KEY}", "${CI_KEY}", ""},
		{"lone dollar", "a$b$", "a$b$", ""},
		{"no recursion", "${NOPE:-$${X}}", "$${X}", ""},
		{"unset", "${NOPE}", "", "environment variable NOPE is not set"},
		{"unterminated", "${CI_KEY", "", "unterminated"},
		{"bad name", "${A-B}", "", "invalid environment variable name"},
		{"empty name", "${}", "", "invalid environment variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			got, problem := expand(tt.in, lookupTestEnv)
			if tt.problem != "" {
				if !strings.Contains(problem, tt.problem) {
					t.Errorf("expand(%q) problem = %q, want %q", tt.in, problem, tt.problem)
				}
				return
			}
			if problem != "" || got != tt.want {
				t.Errorf("expand(%q) = %q, %q; want %q", tt.in, got, problem, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := mustParse(t, minimal)
	l := c.Listen
	checks := []struct {
		desc      string
		got, want any
	}{
		{"listen.addr", l.Addr, DefaultListenAddr},
		{"listen.read_header_timeout", l.ReadHeaderTimeout, 10 * time.Second},
		{"listen.body_idle_timeout", l.BodyIdleTimeout, 30 * time.Second},
		{"listen.idle_timeout", l.IdleTimeout, 120 * time.Second},
		{"listen.write_idle_timeout", l.WriteIdleTimeout, 60 * time.Second},
		{"listen.max_header_bytes", l.MaxHeaderBytes, 65536},
		{"listen.max_header_count", l.MaxHeaderCount, 100},
		{"listen.max_body_bytes", l.MaxBodyBytes, int64(4 << 20)},
		{"listen.max_connections", l.MaxConnections, 10000},
		{"listen.max_connections_per_ip", l.MaxConnectionsPerIP, 256},
		{"listen.max_in_flight", l.MaxInFlight, 4096},
		{"listen.max_concurrent_streams", l.MaxConcurrentStreams, 250},
		{"admin.addr", c.Admin.Addr, DefaultAdminAddr},
		{"data_dir", c.DataDir, DefaultDataDir},
		{"store.sqlite", c.Store.SQLite, "rampart-data/rampart.db"},
		{"auth.api_keys", *c.Auth.APIKeys, true},
		{"upstream flavor", c.Upstreams["sim"].Flavor, "deepseek"},
		{"upstream max_idle_conns", c.Upstreams["sim"].MaxIdleConns, 256},
		{"timeouts", c.Upstreams["sim"].Timeouts, Timeouts{Dial: 5 * time.Second, TLS: 10 * time.Second, FirstByte: 10 * time.Minute, Idle: 5 * time.Minute, Total: 30 * time.Minute}},
		{"route name", c.Routes[0].Name, "route-0"},
		{"route reasoning", c.Routes[0].Reasoning, "pass"},
		{"route heartbeat", c.Routes[0].Heartbeat, 15 * time.Second},
		{"route retries", c.Routes[0].Retries, Retries{MaxAttempts: 1, Backoff: 50 * time.Millisecond}},
		{"log", c.Log, Log{Level: "info", Format: "json"}},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.desc, ck.got, ck.want)
		}
	}
	again := c.Clone()
	again.SetDefaults()
	if !reflect.DeepEqual(again, c) {
		t.Error("SetDefaults is not idempotent")
	}
}

func TestDefaultsRespectExplicitValues(t *testing.T) {
	t.Parallel()
	c := mustParse(t, minimal+`
auth: {api_keys: false}
store: {postgres: "host=db password=${PG_PASSWORD}"}
listen:
  tls: {cert_file: a.crt, key_file: a.key, client_ca_file: ca.pem}
`)
	if *c.Auth.APIKeys {
		t.Error("api_keys: false was overridden by the default")
	}
	if c.Store.SQLite != "" {
		t.Errorf("store.sqlite = %q, want empty when postgres is set", c.Store.SQLite)
	}
	if c.Listen.TLS.ClientAuth != "require" || c.Listen.TLS.MinVersion != "1.2" {
		t.Errorf("tls defaults = %+v, want client_auth require with a client CA", c.Listen.TLS)
	}
}

// TestDetectorScoreDefaults checks that the default confidence of the DLP
// custom and terms detectors is filled in, so that `rampart check --print`
// and the admin API show the score a scan reports rather than 0.
func TestDetectorScoreDefaults(t *testing.T) {
	t.Parallel()
	c := mustParse(t, minimal+`
dlp:
  custom:
    - {type: EMPLOYEE_ID, pattern: "EMP-[0-9]+"}
    - {type: BADGE, pattern: "B[0-9]+", score: 0.6}
  terms:
    - {type: PROJECT, terms: [bluebird]}
    - {type: CODE, terms: [x], score: 0.7}
`)
	out, err := c.MarshalYAMLRedacted()
	if err != nil {
		t.Fatal(err)
	}
	back := mustParse(t, string(out))
	for _, cc := range []*Config{c, back} {
		tests := []struct {
			desc      string
			got, want float64
		}{
			{"dlp.custom[0].score", cc.DLP.Custom[0].Score, 0.8},
			{"dlp.custom[1].score", cc.DLP.Custom[1].Score, 0.6},
			{"dlp.terms[0].score", cc.DLP.Terms[0].Score, 0.9},
			{"dlp.terms[1].score", cc.DLP.Terms[1].Score, 0.7},
		}
		for _, tt := range tests {
			if tt.got != tt.want {
				t.Errorf("%s = %v, want %v\n%s", tt.desc, tt.got, tt.want, out)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	c := mustParse(t, minimal+"auth: {static_keys: [{name: ci, key: \"${CI_KEY}\"}]}\n")
	out, err := yamlMarshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back := mustParse(t, string(out))
	if !reflect.DeepEqual(back, c) {
		t.Errorf("config changed through a YAML round trip:\n%s", out)
	}
}

func TestLargeMappingDuplicates(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("upstreams:\n  sim:\n    url: http://127.0.0.1:8000/v1\n    headers:\n")
	for i := range 40 {
		fmt.Fprintf(&b, "      X-H%d: v\n", i)
	}
	b.WriteString("      X-H3: again\n")
	b.WriteString("routes: [{models: [m], upstreams: [sim]}]\n")
	_, err := Parse([]byte(b.String()), "t.yaml", lookupTestEnv)
	if want := "t.yaml:45: upstreams.sim.headers.X-H3: duplicate key"; !strings.Contains(FormatErrors(err), want) {
		t.Errorf("got %q, want %q", FormatErrors(err), want)
	}
}
