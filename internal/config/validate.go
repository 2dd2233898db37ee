package config

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-gw/rampart/internal/limits"
)

// MinStaticKeyLength is the shortest static API key accepted: shorter keys
// can be guessed.
const MinStaticKeyLength = 20

// Validate checks the whole configuration and returns an *Errors listing
// every problem with its field path, or nil. It is pure and fast: it reads
// no files and no globals (see CheckFiles). Zero values are accepted where
// they mean "use the default", so it may run before or after SetDefaults.
func (c *Config) Validate() error {
	errs := &Errors{}
	c.Listen.validate(errs, "listen")
	c.Admin.validate(errs, "admin", c.Listen.Addr)
	c.Auth.validate(errs, "auth")
	c.Authz.validate(errs, "authz")
	validateUpstreams(errs, c.Upstreams)
	validateRoutes(errs, c.Routes, c.Upstreams)
	c.Log.validate(errs, "log")
	// Zero means default in the stage's section too. Each section is
	// defaulted on a copy, its lists of structs copied as well, so that
	// Validate never changes c.
	w := c.WAF
	w.SetDefaults()
	addSection(errs, "waf", w.Validate())
	gd := c.Guards
	gd.External = slices.Clone(gd.External)
	gd.SetDefaults()
	addSection(errs, "guards", gd.Validate())
	for i, e := range c.Guards.External {
		if e.URL != "" { // an empty one is reported by gd.Validate
			checkGuardURL(errs, joinIndex("guards.external", i)+".url", e.URL)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Guards.PromptLeak.CanaryRoutes)) {
		if !slices.ContainsFunc(c.Routes, func(r *Route) bool { return r != nil && r.Name == name }) {
			errs.add("guards.prompt_leak.canary_routes."+name, 0, "names no route")
		}
	}
	dl := c.DLP
	dl.SetDefaults()
	addSection(errs, "dlp", dl.Validate())
	c.Limits.validate(errs, "limits")
	c.Audit.validate(errs, "audit")
	if c.Audit.Capture.Enabled && !c.DLP.Enabled {
		errs.add("audit.capture.enabled", 0, "requires dlp.enabled: content is stored only after DLP masking")
	}
	c.Telemetry.validate(errs, "telemetry")
	c.Alerts.validate(errs, "alerts")
	for i, t := range c.Killed {
		if t == "" {
			errs.add(fmt.Sprintf("killed[%d]", i), 0, "must name an upstream, a model, a route or \"*\"")
		}
	}
	for i, t := range c.KillTriggers {
		p := fmt.Sprintf("kill_triggers[%d]", i)
		if t.Name == "" {
			errs.add(p+".name", 0, "is required")
		}
		switch t.Stage {
		case "guard", "dlp", "waf", "limit":
		default:
			errs.add(p+".stage", 0, "must be guard, dlp, waf or limit, not "+strconv.Quote(t.Stage))
		}
		if t.Count < 1 {
			errs.add(p+".count", 0, "must be at least 1")
		}
		switch t.Target {
		case "", "route", "model":
		default:
			errs.add(p+".target", 0, "must be route or model, not "+strconv.Quote(t.Target))
		}
		nonNegDur(errs, p+".window", t.Window)
	}

	return errs.err()
}

// addSection adds the problems a stage's own Validate found, each a
// "field: message" error with the field's path inside the section, under
// the section's path. Errors joined with errors.Join are taken apart at
// every level, so that each problem gets a line of its own.
func addSection(errs *Errors, section string, err error) {
	if err == nil {
		return
	}
	if list, ok := joined(err); ok {
		for _, e := range list {
			addSection(errs, section, e)
		}
		return
	}
	field, msg, ok := strings.Cut(err.Error(), ": ")
	if !ok {
		errs.add(section, 0, err.Error())
		return
	}
	errs.add(section+"."+field, 0, msg)
}

// joined returns the errors err joins, when it was made by errors.Join:
// its message is theirs, one per line. An error wrapping several errors
// in one message, such as fmt.Errorf("%w: %w", a, b), is one problem.
func joined(err error) ([]error, bool) {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil, false
	}
	list := j.Unwrap()
	msgs := make([]string, 0, len(list))
	for _, e := range list {
		msgs = append(msgs, e.Error())
	}
	return list, strings.Join(msgs, "\n") == err.Error()
}

// validate checks the client listener.
func (l *Listener) validate(errs *Errors, p string) {
	if l.Addr != "" {
		checkAddr(errs, p+".addr", l.Addr)
	}
	if l.TLS != nil {
		l.TLS.validate(errs, p+".tls")
	}
	nonNegDur(errs, p+".read_header_timeout", l.ReadHeaderTimeout)
	nonNegDur(errs, p+".body_idle_timeout", l.BodyIdleTimeout)
	nonNegDur(errs, p+".idle_timeout", l.IdleTimeout)
	nonNegDur(errs, p+".write_idle_timeout", l.WriteIdleTimeout)
	nonNeg(errs, p+".max_header_bytes", int64(l.MaxHeaderBytes))
	nonNeg(errs, p+".max_header_count", int64(l.MaxHeaderCount))
	nonNeg(errs, p+".max_body_bytes", l.MaxBodyBytes)
	nonNeg(errs, p+".max_connections", int64(l.MaxConnections))
	nonNeg(errs, p+".max_connections_per_ip", int64(l.MaxConnectionsPerIP))
	nonNeg(errs, p+".max_in_flight", int64(l.MaxInFlight))
	nonNeg(errs, p+".max_concurrent_streams", int64(l.MaxConcurrentStreams))
	for i, cidr := range l.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			errs.add(joinIndex(p+".trusted_proxies", i), 0,
				"invalid CIDR "+strconv.Quote(cidr)+" (write one address as 10.0.0.1/32)")
		}
	}
}

// validate checks the admin listener. The admin API can revoke keys and
// kill upstreams, so off loopback it must be protected by a token.
func (a *Admin) validate(errs *Errors, p, listenAddr string) {
	if a.Addr == "off" {
		return
	}
	addr := a.Addr
	if addr == "" {
		addr = DefaultAdminAddr
	}
	if !checkAddr(errs, p+".addr", addr) {
		return
	}
	if listenAddr == "" {
		listenAddr = DefaultListenAddr
	}
	if sameListener(addr, listenAddr) {
		errs.add(p+".addr", 0, "admin listener "+strconv.Quote(addr)+" overlaps listen.addr "+
			strconv.Quote(listenAddr)+": the admin API never shares the client listener")
	}
	if a.Token == "" && !isLoopback(addr) {
		errs.add(p+".addr", 0, strconv.Quote(addr)+" is not a loopback address: set admin.token to protect the admin API")
	}
	if a.TLS != nil {
		a.TLS.validate(errs, p+".tls")
	}
}

// validate checks a listener's TLS settings.
func (t *ServerTLS) validate(errs *Errors, p string) {
	pairedFiles(errs, p, t.CertFile, t.KeyFile)
	if t.CertFile == "" && t.KeyFile == "" && (t.ClientCAFile != "" || t.ClientAuth != "") {
		errs.add(p+".cert_file", 0, "required when TLS settings are given")
	}
	switch t.ClientAuth {
	case "", "none", "request":
	case "require":
		if t.ClientCAFile == "" {
			errs.add(p+".client_ca_file", 0, "required when client_auth is require")
		}
	default:
		errs.add(p+".client_auth", 0, "must be none, request or require, not "+strconv.Quote(t.ClientAuth))
	}
	checkMinVersion(errs, p+".min_version", t.MinVersion)
}

// validate checks the TLS settings towards an upstream. InsecureSkipVerify
// is allowed; the server warns about it at start-up.
func (t *ClientTLS) validate(errs *Errors, p string) {
	pairedFiles(errs, p, t.CertFile, t.KeyFile)
	checkMinVersion(errs, p+".min_version", t.MinVersion)
}

// pairedFiles requires a certificate and its key together.
func pairedFiles(errs *Errors, p, cert, key string) {
	switch {
	case cert != "" && key == "":
		errs.add(p+".key_file", 0, "required when cert_file is set")
	case cert == "" && key != "":
		errs.add(p+".cert_file", 0, "required when key_file is set")
	}
}

func checkMinVersion(errs *Errors, p, v string) {
	if v != "" && v != "1.2" && v != "1.3" {
		errs.add(p, 0, `must be "1.2" or "1.3", not `+strconv.Quote(v))
	}
}

// validate checks client authentication and the static keys. Messages
// name keys by their path only: a key value never appears in an error.
func (a *Auth) validate(errs *Errors, p string) {
	names := make(map[string]int, len(a.StaticKeys))
	keys := make(map[string]int, len(a.StaticKeys))
	for i, k := range a.StaticKeys {
		kp := joinIndex(p+".static_keys", i)
		if k.Name == "" {
			errs.add(kp+".name", 0, "required")
		} else if j, dup := names[k.Name]; dup {
			errs.add(kp+".name", 0, "duplicate name "+strconv.Quote(k.Name)+", also used by "+joinIndex(p+".static_keys", j))
		} else {
			names[k.Name] = i
		}
		switch j, dup := keys[k.Key]; {
		case k.Key == "":
			errs.add(kp+".key", 0, "required")
		case len(k.Key) < MinStaticKeyLength:
			errs.add(kp+".key", 0, "too short: use at least "+strconv.Itoa(MinStaticKeyLength)+" random characters")
		case dup:
			errs.add(kp+".key", 0, "same key as "+joinIndex(p+".static_keys", j))
		default:
			keys[k.Key] = i
		}
		checkPatterns(errs, kp+".models", k.Models)
	}
	a.validateMethods(errs, p)
}

// checkPatterns requires non-empty, well-formed path.Match patterns.
func checkPatterns(errs *Errors, p string, patterns []string) {
	for i, m := range patterns {
		if m == "" {
			errs.add(joinIndex(p, i), 0, "empty model name")
		} else if _, err := path.Match(m, ""); err != nil {
			errs.add(joinIndex(p, i), 0, "invalid model pattern "+strconv.Quote(m)+": "+err.Error())
		}
	}
}

// validate checks the log settings.
func (l *Log) validate(errs *Errors, p string) {
	switch l.Level {
	case "", "debug", "info", "warn", "error":
	default:
		errs.add(p+".level", 0, "must be debug, info, warn or error, not "+strconv.Quote(l.Level))
	}
	switch l.Format {
	case "", "json", "text":
	default:
		errs.add(p+".format", 0, "must be json or text, not "+strconv.Quote(l.Format))
	}
}

// nonNeg refuses negative limits: zero already means the default, and no
// limit may be turned off by a sign.
func nonNeg(errs *Errors, p string, v int64) {
	if v < 0 {
		errs.add(p, 0, "must not be negative (0 means the default)")
	}
}

func nonNegDur(errs *Errors, p string, d time.Duration) {
	if d < 0 {
		errs.add(p, 0, "must not be negative (0 means the default)")
	}
}

// validate checks the limits section. The rules are checked by the limits
// package itself, with the checks its Limiter makes when it is built.
func (l *Limits) validate(errs *Errors, p string) {
	addSection(errs, p, limits.ValidateRules(l.Rules))
	switch l.Backend {
	case "", "memory":
	case "redis":
		if l.RedisURL == "" {
			errs.add(p+".redis_url", 0, "is required when backend is redis")
		} else {
			checkRedisURL(errs, p+".redis_url", l.RedisURL)
		}
	default:
		errs.add(p+".backend", 0, "must be memory or redis, not "+strconv.Quote(l.Backend))
	}
	switch l.FailMode {
	case "", "closed", "local":
	default:
		errs.add(p+".fail_mode", 0, "must be closed or local, not "+strconv.Quote(l.FailMode))
	}
	nonNeg(errs, p+".max_in_flight_per_key", int64(l.MaxInFlightPerKey))
	if l.UsageFlushInterval < 0 {
		errs.add(p+".usage_flush_interval", 0, "must not be negative (0 means the default)")
	}
}

// authMethods are the names accepted in auth.methods.
var authMethods = []string{"api_key", "jwt", "introspection", "mtls"}

// validateMethods checks the method order, the JWT issuers, introspection
// and mTLS. Secrets never appear in a message.
func (a *Auth) validateMethods(errs *Errors, p string) {
	seen := make(map[string]bool, len(a.Methods))
	for i, m := range a.Methods {
		mp := joinIndex(p+".methods", i)
		switch {
		case !slices.Contains(authMethods, m):
			errs.add(mp, 0, "must be api_key, jwt, introspection or mtls, not "+strconv.Quote(m))
		case seen[m]:
			errs.add(mp, 0, "duplicate method "+strconv.Quote(m))
		}
		seen[m] = true
	}
	for i := range a.JWT {
		a.JWT[i].validate(errs, joinIndex(p+".jwt", i))
	}
	if in := a.Introspection; in != nil {
		ip := p + ".introspection"
		checkAuthURL(errs, ip+".url", in.URL)
		if in.ClientID == "" {
			errs.add(ip+".client_id", 0, "required")
		}
		if in.CacheTTL < 0 || in.NegativeTTL < 0 || in.Timeout < 0 || in.MaxConcurrent < 0 {
			errs.add(ip, 0, "durations and max_concurrent must not be negative")
		}
	}
	if m := a.MTLS; m != nil {
		switch m.Identity {
		case "", "spiffe", "dns", "subject":
		default:
			errs.add(p+".mtls.identity", 0, "must be spiffe, dns or subject, not "+strconv.Quote(m.Identity))
		}
	}
}

// validate checks one JWT issuer.
func (j *JWTIssuer) validate(errs *Errors, p string) {
	if j.Issuer == "" {
		errs.add(p+".issuer", 0, "required")
	}
	if len(j.Audiences) == 0 {
		errs.add(p+".audiences", 0, "required: at least one accepted audience")
	}
	hmac, asym := false, len(j.Algorithms) == 0
	for i, alg := range j.Algorithms {
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
			asym = true
		case "HS256", "HS384", "HS512":
			hmac = true
		default:
			errs.add(joinIndex(p+".algorithms", i), 0, "unsupported algorithm "+strconv.Quote(alg))
		}
	}
	switch {
	case hmac && asym:
		errs.add(p+".algorithms", 0, "HMAC and public-key algorithms cannot be mixed for one issuer")
	case hmac && len(j.HSSecret) < 32:
		errs.add(p+".hs_secret", 0, "required for HS algorithms: at least 32 bytes")
	case !hmac && j.HSSecret != "":
		errs.add(p+".hs_secret", 0, "only for HS algorithms")
	case asym && j.JWKSURL == "" && !j.Discovery:
		errs.add(p+".jwks_url", 0, "required unless discovery is on")
	}
	if j.JWKSURL != "" {
		checkAuthURL(errs, p+".jwks_url", j.JWKSURL)
	}
	if j.Discovery {
		checkAuthURL(errs, p+".issuer", j.Issuer)
	}
	if j.Skew < 0 || j.Refresh < 0 {
		errs.add(p, 0, "skew and refresh must not be negative")
	}
}

// checkAuthURL requires an absolute http or https URL.
func checkAuthURL(errs *Errors, p, raw string) {
	u, err := url.Parse(raw)
	if raw == "" {
		errs.add(p, 0, "required")
	} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs.add(p, 0, "must be an absolute http or https URL")
	}
}
