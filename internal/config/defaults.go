package config

import (
	"path/filepath"
	"strconv"
	"time"
)

// Defaults documented on the fields in types.go.
const (
	DefaultListenAddr   = "127.0.0.1:8080"
	DefaultAdminAddr    = "127.0.0.1:9090"
	DefaultDataDir      = "rampart-data"
	DefaultSQLiteFile   = "rampart.db"
	DefaultFlavor       = "openai"
	DefaultReasoning    = "pass"
	DefaultMinVersion   = "1.2"
	DefaultLogLevel     = "info"
	DefaultLogFormat    = "json"
	defaultMaxAttempts  = 3
	defaultMaxIdleConns = 256
)

// SetDefaults fills every zero field with its safe default. It is called by
// Parse; a Config built in code should call it before Validate.
func (c *Config) SetDefaults() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	c.Listen.SetDefaults()
	c.Admin.SetDefaults()
	c.Store.SetDefaults(c.DataDir)
	c.Auth.SetDefaults()
	c.Authz.SetDefaults()
	for _, u := range c.Upstreams {
		if u != nil {
			u.SetDefaults()
		}
	}
	for i, r := range c.Routes {
		if r != nil {
			r.SetDefaults(i)
		}
	}
	c.Log.SetDefaults()
	c.WAF.SetDefaults()
	c.Guards.SetDefaults()
	c.DLP.SetDefaults()
	c.Limits.SetDefaults()
	c.Audit.SetDefaults()
	c.Telemetry.SetDefaults()
	c.Alerts.SetDefaults()
	for i := range c.KillTriggers {
		t := &c.KillTriggers[i]
		setString(&t.Action, "block")
		setString(&t.Target, "route")
		setDuration(&t.Window, time.Minute)
	}
}

// SetDefaults fills the zero fields of the limits section.
func (l *Limits) SetDefaults() {
	setString(&l.Backend, "memory")
	setString(&l.FailMode, "closed")
	setDuration(&l.UsageFlushInterval, 10*time.Second)
}

// SetDefaults fills the zero fields of the client listener.
func (l *Listener) SetDefaults() {
	setString(&l.Addr, DefaultListenAddr)
	setDuration(&l.ReadHeaderTimeout, 10*time.Second)
	setDuration(&l.BodyIdleTimeout, 30*time.Second)
	setDuration(&l.IdleTimeout, 120*time.Second)
	setDuration(&l.WriteIdleTimeout, 60*time.Second)
	setInt(&l.MaxHeaderBytes, 64<<10)
	setInt(&l.MaxHeaderCount, 100)
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = 4 << 20
	}
	setInt(&l.MaxConnections, 10000)
	setInt(&l.MaxConnectionsPerIP, 256)
	setInt(&l.MaxInFlight, 4096)
	setInt(&l.MaxConcurrentStreams, 250)
	if l.TLS != nil {
		l.TLS.SetDefaults()
	}
}

// SetDefaults fills the zero fields of a listener's TLS settings. Client
// certificates are required as soon as a client CA is given, so that adding
// a CA never silently means "optional".
func (t *ServerTLS) SetDefaults() {
	if t.ClientAuth == "" {
		t.ClientAuth = "none"
		if t.ClientCAFile != "" {
			t.ClientAuth = "require"
		}
	}
	setString(&t.MinVersion, DefaultMinVersion)
}

// SetDefaults fills the zero fields of the admin listener.
func (a *Admin) SetDefaults() {
	setString(&a.Addr, DefaultAdminAddr)
	if a.TLS != nil {
		a.TLS.SetDefaults()
	}
}

// SetDefaults puts the SQLite file in dataDir unless PostgreSQL is used.
func (s *Store) SetDefaults(dataDir string) {
	if s.SQLite == "" && s.Postgres == "" {
		s.SQLite = filepath.Join(dataDir, DefaultSQLiteFile)
	}
}

// SetDefaults turns on API keys from the store unless the file says no,
// and fills the zero fields of the token and certificate methods.
func (a *Auth) SetDefaults() {
	if a.APIKeys == nil {
		on := true
		a.APIKeys = &on
	}
	for i := range a.JWT {
		j := &a.JWT[i]
		if len(j.Algorithms) == 0 {
			j.Algorithms = []string{"RS256"}
		}
		setDuration(&j.Skew, 60*time.Second)
		setDuration(&j.Refresh, 10*time.Minute)
		setString(&j.Claims.Subject, "sub")
		setString(&j.Claims.Scopes, "scope")
	}
	if in := a.Introspection; in != nil {
		setDuration(&in.CacheTTL, 60*time.Second)
		setDuration(&in.NegativeTTL, 10*time.Second)
		setDuration(&in.Timeout, 5*time.Second)
		setInt(&in.MaxConcurrent, 16)
		setString(&in.Claims.Subject, "sub")
		setString(&in.Claims.Scopes, "scope")
	}
	if a.MTLS != nil {
		setString(&a.MTLS.Identity, "spiffe")
	}
}

// SetDefaults fills the zero fields of an upstream.
func (u *Upstream) SetDefaults() {
	setString(&u.Flavor, DefaultFlavor)
	if u.Flavor == "ollama" {
		setString(&u.ReasoningFormat, "tags")
	}
	setString(&u.ReasoningFormat, "field")
	u.Timeouts.SetDefaults()
	setInt(&u.CircuitBreaker.Failures, 5)
	setDuration(&u.CircuitBreaker.Cooldown, 30*time.Second)
	if h := &u.HealthCheck; h.Enabled {
		setString(&h.Path, "/models")
		setString(&h.Method, "GET")
		setDuration(&h.Interval, 10*time.Second)
		setDuration(&h.Timeout, 5*time.Second)
		setInt(&h.HealthyThreshold, 2)
		setInt(&h.UnhealthyThreshold, 3)
	}
	if o := &u.OutlierDetection; o.Enabled {
		setInt(&o.ConsecutiveFailures, 5)
		setDuration(&o.BaseEjectionTime, 30*time.Second)
		setDuration(&o.MaxEjectionTime, 5*time.Minute)
	}
	setInt(&u.MaxIdleConns, defaultMaxIdleConns)
	if u.TLS != nil {
		u.TLS.SetDefaults()
	}
}

// SetDefaults fills the zero timeouts of an upstream call.
func (t *Timeouts) SetDefaults() {
	setDuration(&t.Dial, 5*time.Second)
	setDuration(&t.TLS, 10*time.Second)
	setDuration(&t.FirstByte, 10*time.Minute)
	setDuration(&t.Idle, 5*time.Minute)
	setDuration(&t.Total, 30*time.Minute)
}

// SetDefaults fills the zero fields of the TLS settings towards an upstream.
func (t *ClientTLS) SetDefaults() {
	setString(&t.MinVersion, DefaultMinVersion)
}

// SetDefaults fills the zero fields of the route at index i of routes.
func (r *Route) SetDefaults(i int) {
	setString(&r.Name, "route-"+strconv.Itoa(i))
	setString(&r.Reasoning, DefaultReasoning)
	setDuration(&r.Heartbeat, 15*time.Second)
	r.Retries.SetDefaults(len(r.Upstreams))
}

// SetDefaults allows one attempt per upstream of the route, at most three,
// and a 50ms base backoff.
func (r *Retries) SetDefaults(upstreams int) {
	if r.MaxAttempts == 0 {
		r.MaxAttempts = max(1, min(upstreams, defaultMaxAttempts))
	}
	setDuration(&r.Backoff, 50*time.Millisecond)
}

// SetDefaults fills the zero fields of the log settings.
func (l *Log) SetDefaults() {
	setString(&l.Level, DefaultLogLevel)
	setString(&l.Format, DefaultLogFormat)
}

func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDuration(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}
