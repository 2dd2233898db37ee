// Package config defines Rampart's configuration file: its structure, strict
// decoding, ${ENV} expansion, defaults, validation with field paths and
// redaction of secrets.
//
// Every field documents its meaning, unit, default and what a client sees
// when a limit is hit. The zero value of a field always means "use the safe
// default", never "unlimited".
package config

import (
	"time"

	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/rampart-gw/rampart/internal/limits"
	"github.com/rampart-gw/rampart/internal/waf"
)

// Config is the whole configuration file.
type Config struct {
	// Listen is the client listener: the OpenAI-compatible API.
	Listen Listener `yaml:"listen"`
	// Admin is the admin listener: health, metrics and the admin API. It
	// never shares an address with the client listener.
	Admin Admin `yaml:"admin"`
	// DataDir is the folder for the embedded store and other local state.
	// Default: "rampart-data".
	DataDir string `yaml:"data_dir"`
	// Store selects the persistent store. Default: SQLite in DataDir.
	Store Store `yaml:"store"`
	// Auth selects how clients authenticate.
	Auth Auth `yaml:"auth"`
	// Authz holds the authorization rules, checked once a request is
	// routed. Nil (no section): every authenticated caller may use the
	// models its credential allows.
	Authz *Authz `yaml:"authz"`
	// Upstreams are the model servers Rampart forwards to, by name.
	Upstreams map[string]*Upstream `yaml:"upstreams"`
	// Routes map requested models to upstreams; the first route whose
	// models match the request wins.
	Routes []*Route `yaml:"routes"`
	// Log configures the process log.
	Log Log `yaml:"log"`
	// WAF is the web application firewall: the OWASP Core Rule Set run by
	// Coraza on every request, in the LLM-aware scope. Off unless enabled.
	// Its fields are documented in docs/configuration.md and internal/waf.
	WAF waf.Config `yaml:"waf"`
	// Guards are the prompt and response guards: prompt injection and
	// jailbreaks, harmful requests, banned topics. Off unless enabled.
	Guards guard.Config `yaml:"guards"`
	// DLP finds personal data and secrets in requests and masks, redacts
	// or blocks them before they leave. Off unless enabled.
	DLP dlp.Config `yaml:"dlp"`
	// Limits are rate, token, cost and concurrency limits. Off while there
	// are no rules.
	Limits Limits `yaml:"limits"`
	// Audit is the audit trail: one durable record per request. On
	// unless disabled.
	Audit Audit `yaml:"audit"`
	// Telemetry exports OpenTelemetry traces. Off unless enabled.
	Telemetry Telemetry `yaml:"telemetry"`
	// Alerts send incidents (a burst of blocked requests, a kill-switch
	// change, an upstream turning unhealthy, a budget exhausted) to
	// webhooks. Off while there are no sinks.
	Alerts Alerts `yaml:"alerts"`
	// KillTriggers flip the kill switch automatically on a burst of
	// verdicts, such as too many blocked jailbreaks on a route in a minute.
	KillTriggers []KillTrigger `yaml:"kill_triggers"`
	// Killed lists targets the configuration itself cuts off: upstream,
	// model or route names, or "*" for everything. Requests to them get 503
	// (or fail over), exactly as with `rampart kill`; only removing them
	// from the file lifts them. Default: none.
	Killed []string `yaml:"killed"`
}

// KillTrigger kills a route or a model when a burst of verdicts shows it
// under attack. The kill stays until someone revives it.
type KillTrigger struct {
	// Name identifies the trigger; the kill's actor is "trigger:NAME".
	// Required.
	Name string `yaml:"name"`
	// Stage is the stage whose verdicts count: guard, dlp, waf or limit.
	// Required.
	Stage string `yaml:"stage"`
	// Action is the verdict action that counts. Default: block.
	Action string `yaml:"action"`
	// Count verdicts within Window fire the trigger. Required.
	Count int `yaml:"count"`
	// Window is the sliding window. Default: 1m.
	Window time.Duration `yaml:"window"`
	// Target is what gets killed: route (default) or model, the one the
	// counted requests asked for.
	Target string `yaml:"target"`
}

// Limits configures the limits stage.
type Limits struct {
	// Backend is memory (default: counters in this process) or redis
	// (counters shared by every instance through Redis).
	Backend string `yaml:"backend"`
	// RedisURL is the Redis URL when backend is redis, such as
	// redis://127.0.0.1:6379/0: scheme redis, rediss (TLS) or unix, as
	// go-redis reads it. Secret: it may hold a password.
	RedisURL string `yaml:"redis_url"`
	// FailMode is what happens while Redis is unreachable: closed (default:
	// requests get 503) or local (per-instance counters until it is back).
	FailMode string `yaml:"fail_mode"`
	// Rules are the limits; a request must satisfy every rule that matches
	// it. A refused request gets 429 with Retry-After and x-ratelimit-*
	// headers (rate_limit_exceeded, or insufficient_quota for budgets).
	Rules []limits.Rule `yaml:"rules"`
	// Prices are per model, per million tokens, for cost rules.
	Prices map[string]limits.Price `yaml:"prices"`
	// MaxInFlightPerKey caps the requests one API key (or other principal)
	// has in flight on this instance; requests over the cap get 429 at
	// once. Default: 0 (no cap beyond listen.max_in_flight).
	MaxInFlightPerKey int `yaml:"max_in_flight_per_key"`
	// UsageFlushInterval is how often the per key, team and model usage
	// counters are written to the store (they are also written at
	// shutdown). Default: 10s.
	UsageFlushInterval time.Duration `yaml:"usage_flush_interval"`
}

// Listener configures the client listener.
type Listener struct {
	// Addr is host:port. Default: 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// TLS turns on TLS (and optionally mTLS) for clients. Off when empty.
	TLS *ServerTLS `yaml:"tls"`
	// ReadHeaderTimeout bounds how long a client may take to send the
	// request line and headers; a slower client is disconnected.
	// Default: 10s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// BodyIdleTimeout bounds the pause between two reads of a request body;
	// a client that stalls longer gets 408. Default: 30s.
	BodyIdleTimeout time.Duration `yaml:"body_idle_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Default: 120s.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// WriteIdleTimeout cuts off a client that stops reading a response for
	// this long; the upstream request is cancelled. Default: 60s.
	WriteIdleTimeout time.Duration `yaml:"write_idle_timeout"`
	// MaxHeaderBytes caps the size of the request line and headers; larger
	// requests get 431. Default: 65536 (64 KiB).
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxHeaderCount caps the number of request header fields; more get
	// 431. Default: 100.
	MaxHeaderCount int `yaml:"max_header_count"`
	// MaxBodyBytes caps a request body, enforced while reading (chunked
	// bodies too); larger bodies get 413. Default: 4194304 (4 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxConnections caps open client connections; connections over the
	// cap are closed at once. Default: 10000.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP caps open connections from one client IP.
	// Default: 256.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// MaxInFlight caps requests being served at once; requests over the
	// cap get a fast 503 with Retry-After instead of waiting. Default: 4096.
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxConcurrentStreams caps HTTP/2 streams per connection. Default: 250.
	MaxConcurrentStreams int `yaml:"max_concurrent_streams"`
	// TrustedProxies lists the CIDRs whose X-Forwarded-For is believed for
	// the client IP. Default: none (the peer address is the client IP).
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// ServerTLS configures TLS on a listener.
type ServerTLS struct {
	// CertFile and KeyFile are PEM files; both are required.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile, when set, makes the listener verify client certificates
	// against this PEM bundle.
	ClientCAFile string `yaml:"client_ca_file"`
	// ClientAuth is none, request or require. Default: require when
	// ClientCAFile is set, otherwise none.
	ClientAuth string `yaml:"client_auth"`
	// MinVersion is "1.2" or "1.3". Default: "1.2".
	MinVersion string `yaml:"min_version"`
}

// Admin configures the admin listener.
type Admin struct {
	// Addr is host:port. Default: 127.0.0.1:9090. Set to "off" to disable.
	Addr string `yaml:"addr"`
	// Token is a bearer token required on /admin/ paths. Required when Addr
	// is not a loopback address. Secret: redacted in dumps.
	Token string `yaml:"token"`
	// TLS turns on TLS (and optionally mTLS) for the admin listener.
	TLS *ServerTLS `yaml:"tls"`
}

// Store selects the persistent store.
type Store struct {
	// SQLite is the path of the SQLite file. Default: DataDir/rampart.db.
	SQLite string `yaml:"sqlite"`
	// Postgres is a PostgreSQL DSN; when set it is used instead of SQLite.
	// Secret: redacted in dumps.
	Postgres string `yaml:"postgres"`
}

// Auth configures client authentication.
type Auth struct {
	// APIKeys turns on API keys from the store (created with `rampart keys`).
	// Default: true.
	APIKeys *bool `yaml:"api_keys"`
	// StaticKeys are API keys given in the file itself (usually through
	// ${ENV}). Secrets: redacted in dumps.
	StaticKeys []StaticKey `yaml:"static_keys"`
	// Anonymous lets unauthenticated requests through as principal
	// "anonymous". Default: false. Never turn this on for a public listener.
	Anonymous bool `yaml:"anonymous"`
	// Methods is the order in which credentials are tried: api_key, jwt,
	// introspection, mtls. Default: every configured method, API keys
	// first.
	Methods []string `yaml:"methods"`
	// JWT lists the trusted issuers of JWT bearer tokens.
	JWT []JWTIssuer `yaml:"jwt"`
	// Introspection checks opaque OAuth2 tokens at an RFC 7662 endpoint.
	Introspection *Introspection `yaml:"introspection"`
	// MTLS maps a verified client certificate to a principal.
	MTLS *MTLS `yaml:"mtls"`
}

// JWTIssuer is one trusted issuer of JWT bearer tokens.
type JWTIssuer struct {
	// Issuer is the expected iss claim. Required.
	Issuer string `yaml:"issuer"`
	// JWKSURL is where the issuer's public keys are. Required unless
	// Discovery is on or HSSecret is set.
	JWKSURL string `yaml:"jwks_url"`
	// Discovery finds the JWKS URL through OIDC discovery at
	// Issuer/.well-known/openid-configuration.
	Discovery bool `yaml:"discovery"`
	// Audiences are accepted aud values; one must match. Required.
	Audiences []string `yaml:"audiences"`
	// Algorithms are the accepted signature algorithms, such as RS256,
	// ES256 or EdDSA. Default: RS256. HS256/384/512 need HSSecret.
	Algorithms []string `yaml:"algorithms"`
	// HSSecret is the shared secret for HMAC algorithms. Secret: redacted
	// in dumps.
	HSSecret string `yaml:"hs_secret"`
	// Skew is the clock skew allowed on exp, nbf and iat. Default: 60s.
	Skew time.Duration `yaml:"skew"`
	// Refresh is how often the JWKS is fetched again. Default: 10m.
	Refresh time.Duration `yaml:"refresh"`
	// Claims maps token claims to the principal.
	Claims JWTClaims `yaml:"claims"`
}

// JWTClaims names the claims that make the principal.
type JWTClaims struct {
	// Subject becomes the principal's ID. Default: sub.
	Subject string `yaml:"subject"`
	// Team becomes the principal's team. Optional.
	Team string `yaml:"team"`
	// Scopes (a list, or a space-separated string) become the principal's
	// scopes. Default: scope.
	Scopes string `yaml:"scopes"`
	// Models (a list) restricts the principal to these models. Optional.
	Models string `yaml:"models"`
}

// Introspection configures RFC 7662 token introspection.
type Introspection struct {
	// URL is the introspection endpoint. Required.
	URL string `yaml:"url"`
	// ClientID authenticates Rampart to the endpoint (client_secret_basic).
	ClientID string `yaml:"client_id"`
	// ClientSecret goes with ClientID. Secret: redacted in dumps.
	ClientSecret string `yaml:"client_secret"`
	// CacheTTL bounds how long an active answer is reused (never beyond
	// the token's exp). Default: 60s.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// NegativeTTL is how long an inactive answer is reused. Default: 10s.
	NegativeTTL time.Duration `yaml:"negative_ttl"`
	// Timeout bounds one call to the endpoint. Default: 5s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxConcurrent bounds calls in flight. Default: 16.
	MaxConcurrent int `yaml:"max_concurrent"`
	// Claims maps introspection fields to the principal, as for JWT.
	Claims JWTClaims `yaml:"claims"`
}

// MTLS configures client-certificate identity.
type MTLS struct {
	// Identity is spiffe (URI SAN), dns (first DNS SAN) or subject (CN).
	// Default: spiffe.
	Identity string `yaml:"identity"`
}

// StaticKey is an API key defined in the configuration file.
type StaticKey struct {
	// Name identifies the key in logs and audit records.
	Name string `yaml:"name"`
	// Key is the secret the client sends as a bearer token.
	Key string `yaml:"key"`
	// Team groups keys for policy and usage.
	Team string `yaml:"team"`
	// Models restricts the key to these models (globs allowed). Empty: all.
	Models []string `yaml:"models"`
}

// Upstream is one OpenAI-compatible model server.
type Upstream struct {
	// URL is the base URL including the API prefix, such as
	// https://api.deepseek.com/v1 or http://10.0.0.5:8000/v1. Required.
	URL string `yaml:"url"`
	// Flavor is deepseek, vllm, sglang, ollama or openai. Default: openai.
	// It decides quirks such as whether reasoning_content is accepted in
	// history.
	Flavor string `yaml:"flavor"`
	// ReasoningFormat says how the upstream delivers reasoning: "field"
	// (reasoning_content, as DeepSeek's API and vLLM/SGLang with a reasoning
	// parser send it), "tags" (inline <think>…</think> in content, as
	// Ollama sends it) or "implicit" (inline, with the opening tag missing,
	// as R1 distills on vLLM without a parser emit it). Default: tags for
	// ollama, field for the other flavors.
	ReasoningFormat string `yaml:"reasoning_format"`
	// APIKey is the provider credential Rampart sends upstream as a bearer
	// token. The client's own credential is never forwarded. Secret.
	APIKey string `yaml:"api_key"`
	// Headers are extra headers sent upstream. Values are secrets in dumps.
	Headers map[string]string `yaml:"headers"`
	// Public marks a third-party service outside the company's control;
	// traffic classified private never goes to it.
	Public bool `yaml:"public"`
	// Timeouts bound each phase of an upstream call.
	Timeouts Timeouts `yaml:"timeouts"`
	// MaxIdleConns caps idle keep-alive connections kept to this upstream.
	// Default: 256.
	MaxIdleConns int `yaml:"max_idle_conns"`
	// CircuitBreaker stops sending to an upstream that keeps failing.
	CircuitBreaker CircuitBreaker `yaml:"circuit_breaker"`
	// HealthCheck probes the upstream in the background; requests skip it
	// while it is unhealthy. Off unless enabled.
	HealthCheck HealthCheck `yaml:"health_check"`
	// OutlierDetection ejects the upstream for a while after a run of
	// failures of real traffic. Off unless enabled.
	OutlierDetection OutlierDetection `yaml:"outlier_detection"`
	// TLS configures TLS to the upstream (custom CA, client certificate).
	TLS *ClientTLS `yaml:"tls"`
}

// Timeouts bound the phases of an upstream call. A dial failure gives the
// client 502; a timeout gives 504 (or a terminal SSE error event once a
// stream has started).
type Timeouts struct {
	// Dial bounds the TCP connect. Default: 5s.
	Dial time.Duration `yaml:"dial"`
	// TLS bounds the TLS handshake. Default: 10s.
	TLS time.Duration `yaml:"tls"`
	// FirstByte bounds the wait for response headers. R1 may think for
	// minutes before it answers a non-streaming request. Default: 10m.
	FirstByte time.Duration `yaml:"first_byte"`
	// Idle bounds the pause between two streamed events. Default: 5m.
	Idle time.Duration `yaml:"idle"`
	// Total is the ceiling for the whole call. Default: 30m.
	Total time.Duration `yaml:"total"`
}

// CircuitBreaker opens after a run of consecutive failures of an upstream
// (connect errors, timeouts, 5xx answers): while open, requests skip the
// upstream and fail over at once (or get 503 with Retry-After when no
// upstream is left); after the cool-down one probe request goes through,
// and its success closes the breaker.
type CircuitBreaker struct {
	// Failures is the run of consecutive failures that opens the breaker.
	// Default: 5.
	Failures int `yaml:"failures"`
	// Cooldown is how long the breaker stays open before a probe.
	// Default: 30s.
	Cooldown time.Duration `yaml:"cooldown"`
	// Disabled turns the breaker off. Default: false.
	Disabled bool `yaml:"disabled"`
}

// HealthCheck is an active check of an upstream: a request sent every
// interval, off the request path. After UnhealthyThreshold failed checks in
// a row the upstream is unhealthy and requests skip it; after
// HealthyThreshold passed checks in a row it is healthy again.
type HealthCheck struct {
	// Enabled turns the check on. Default: false.
	Enabled bool `yaml:"enabled"`
	// Path is appended to the upstream URL. Default: /models.
	Path string `yaml:"path"`
	// Method is GET or POST. POST goes to /chat/completions, /completions
	// or /embeddings with Body. Default: GET.
	Method string `yaml:"method"`
	// Body is the JSON body of a POST check.
	Body string `yaml:"body"`
	// Interval is the time between two checks. Default: 10s.
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one check. Default: 5s.
	Timeout time.Duration `yaml:"timeout"`
	// HealthyThreshold is the run of passed checks that makes an unhealthy
	// upstream healthy. Default: 2.
	HealthyThreshold int `yaml:"healthy_threshold"`
	// UnhealthyThreshold is the run of failed checks that makes a healthy
	// upstream unhealthy. Default: 3.
	UnhealthyThreshold int `yaml:"unhealthy_threshold"`
}

// OutlierDetection ejects an upstream after a run of consecutive failures
// of real requests (5xx answers, connect failures, timeouts). An ejection
// lasts BaseEjectionTime times the number of times the upstream was
// ejected, up to MaxEjectionTime; the count falls by one for every
// BaseEjectionTime the upstream then serves without an ejection.
type OutlierDetection struct {
	// Enabled turns outlier detection on. Default: false.
	Enabled bool `yaml:"enabled"`
	// ConsecutiveFailures is the run of failures that ejects. Default: 5.
	ConsecutiveFailures int `yaml:"consecutive_failures"`
	// BaseEjectionTime is the first ejection's length. Default: 30s.
	BaseEjectionTime time.Duration `yaml:"base_ejection_time"`
	// MaxEjectionTime caps an ejection. Default: 5m.
	MaxEjectionTime time.Duration `yaml:"max_ejection_time"`
}

// ClientTLS configures TLS towards an upstream.
type ClientTLS struct {
	// CAFile is a PEM bundle of CAs to trust instead of the system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate for mTLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides SNI and the name verified.
	ServerName string `yaml:"server_name"`
	// MinVersion is "1.2" or "1.3". Default: "1.2".
	MinVersion string `yaml:"min_version"`
	// InsecureSkipVerify turns off certificate verification. Dangerous: a
	// warning is logged at start-up.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Route maps requested models to an ordered list of upstreams.
type Route struct {
	// Name identifies the route in metrics and records. Default: route-N,
	// where N is the route's index in routes, counting from 0.
	Name string `yaml:"name"`
	// Models are the model names this route serves: exact names or globs
	// (path.Match syntax, such as "deepseek-*"). Required.
	Models []string `yaml:"models"`
	// Aliases map a public model name to the canonical model name sent
	// upstream (unless a target overrides it).
	Aliases map[string]string `yaml:"aliases"`
	// Upstreams are tried in order: the next one is tried on a connect
	// error, a 5xx or a 429, and only while nothing has reached the client.
	Upstreams []Target `yaml:"upstreams"`
	// Reasoning is pass, strip or separate. pass relays reasoning as the
	// upstream sends it; strip removes it; separate moves inline <think>
	// blocks into reasoning_content. Default: pass.
	Reasoning string `yaml:"reasoning"`
	// Retries bounds failover attempts.
	Retries Retries `yaml:"retries"`
	// Heartbeat is the interval of SSE comment lines sent to the client
	// while the upstream is silent (long reasoning). Default: 15s.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// MaxTokens caps max_tokens (and max_completion_tokens); a larger value
	// is clamped to it. Zero: no clamp beyond the upstream's own.
	MaxTokens int `yaml:"max_tokens"`
	// PrivateWhen is a CEL expression; when it is true for a request, the
	// request goes only to upstreams that are not public, failover
	// included, and gets 503 when none is available: it never spills to a
	// public upstream. It sees principal (kind, id, name, team, scopes),
	// request (model, stream, max_tokens, tools, dlp.findings,
	// guards.verdicts) and headers, such as
	// 'request.dlp.findings.size() > 0 || principal.team == "finance"'.
	// An expression that fails to evaluate counts as true. Empty: never.
	PrivateWhen string `yaml:"private_when"`
	// WAF turns the web application firewall on or off for this route and
	// may opt it in to full-body inspection. Default: the `waf:` section.
	WAF waf.RouteConfig `yaml:"waf"`
}

// Target is one upstream of a route. In YAML it is either the upstream's
// name as a string or a mapping {upstream: NAME, model: MODEL}.
type Target struct {
	// Upstream names an entry of upstreams. Required.
	Upstream string `yaml:"upstream"`
	// Model overrides the model name sent to this upstream, such as
	// "deepseek-r1:7b" for Ollama.
	Model string `yaml:"model"`
	// Priority groups targets: every target of the lowest priority is
	// tried before any target of a higher one (failover across groups).
	// Default: 0.
	Priority int `yaml:"priority"`
	// Weight splits traffic within a priority group: a request goes first
	// to a target chosen with probability weight/sum, then fails over to
	// the others of the group in weighted order (canary, A/B). Default: 0,
	// which with no weights in the group keeps the listed order.
	Weight int `yaml:"weight"`
}

// Retries bounds failover.
type Retries struct {
	// MaxAttempts is the number of upstream attempts in all. Default: the
	// number of upstreams of the route, at most 3.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the base delay before the next attempt; each attempt adds
	// up to 100% jitter. Default: 50ms.
	Backoff time.Duration `yaml:"backoff"`
}

// Log configures the process log.
type Log struct {
	// Level is debug, info, warn or error. Default: info.
	Level string `yaml:"level"`
	// Format is json or text. Default: json.
	Format string `yaml:"format"`
}
