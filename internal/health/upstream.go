// Package health tracks whether each upstream should receive traffic: an
// active check that probes it in the background, off the request path, and
// passive outlier detection that ejects it after a run of failures of real
// requests. The request path only reads two atomics per upstream.
package health

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
)

// States of an upstream, as the admin API and the log show them.
const (
	StateHealthy   = "healthy"
	StateUnhealthy = "unhealthy" // failing its active check
	StateEjected   = "ejected"   // ejected by outlier detection
)

// Upstream is the health of one upstream. It outlives configuration
// snapshots: a reload that keeps the upstream keeps its state. A nil
// *Upstream is always usable and ignores observations.
type Upstream struct {
	name   string
	log    *slog.Logger
	now    func() time.Time
	notify func(upstream, reason string) // may be nil

	down         atomic.Bool  // the active check failed its threshold
	ejectedUntil atomic.Int64 // unix nanoseconds; 0: not ejected
	outlierOn    atomic.Bool

	mu sync.Mutex
	// active check
	check       config.HealthCheck
	gen         uint64 // checker generation; results of older ones are dropped
	passes      int    // consecutive passed checks
	fails       int    // consecutive failed checks
	lastCheck   time.Time
	lastErr     string
	checks      uint64
	checkFailed uint64
	downReason  string
	// outlier detection
	outlier       config.OutlierDetection
	failures      atomic.Int64 // consecutive failures of real traffic
	multiplier    int          // current ejection multiplier, decays while healthy
	lastEjectEnd  time.Time
	ejections     uint64
	ejectedReason string
}

func newUpstream(name string, log *slog.Logger) *Upstream {
	return &Upstream{name: name, log: log, now: time.Now}
}

// Name is the upstream's name.
func (u *Upstream) Name() string { return u.name }

// Usable reports whether requests may go to the upstream now. When not, it
// also returns how long until that may change (for Retry-After). It takes
// no lock.
func (u *Upstream) Usable() (bool, time.Duration) {
	if u == nil {
		return true, 0
	}
	if u.down.Load() {
		return false, u.checkInterval()
	}
	if until := u.ejectedUntil.Load(); until != 0 {
		if d := time.Duration(until - u.now().UnixNano()); d > 0 {
			return false, d
		}
	}
	return true, 0
}

func (u *Upstream) checkInterval() time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.check.Interval * time.Duration(max(u.check.HealthyThreshold, 1))
}

// Observe records the outcome of a real request: ok is false for a 5xx
// answer, a connect failure or a timeout. A run of failures ejects the
// upstream.
func (u *Upstream) Observe(ok bool) {
	if u == nil || !u.outlierOn.Load() {
		return
	}
	if ok {
		// The common case stays cheap: no lock when there is nothing to reset.
		if u.failures.Load() != 0 {
			u.failures.Store(0)
		}
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	o := u.outlier
	if !o.Enabled {
		return
	}
	now := u.now()
	if until := u.ejectedUntil.Load(); until != 0 && now.UnixNano() < until {
		return // already ejected; a request that raced with the ejection
	}
	n := u.failures.Add(1)
	if n < int64(o.ConsecutiveFailures) {
		return
	}
	// The multiplier falls by one for every base ejection time served
	// without an ejection since the last one ended.
	if !u.lastEjectEnd.IsZero() && now.After(u.lastEjectEnd) {
		u.multiplier -= int(now.Sub(u.lastEjectEnd) / o.BaseEjectionTime)
	}
	u.multiplier = max(u.multiplier, 0) + 1
	d := min(o.BaseEjectionTime*time.Duration(u.multiplier), o.MaxEjectionTime)
	end := now.Add(d)
	u.ejectedUntil.Store(end.UnixNano())
	u.lastEjectEnd = end
	u.ejections++
	u.ejectedReason = fmt.Sprintf("%d consecutive failures", n)
	u.failures.Store(0)
	if u.log != nil {
		u.log.Warn("upstream ejected by outlier detection", "upstream", u.name,
			"reason", u.ejectedReason, "for", d.String(), "ejections", u.ejections)
	}
	if u.notify != nil {
		u.notify(u.name, "ejected for "+d.String()+" after "+u.ejectedReason)
	}
}

// setConfig installs the settings of a configuration. A changed check
// starts from a clean state; a changed outlier setting keeps the counts.
func (u *Upstream) setConfig(check config.HealthCheck, outlier config.OutlierDetection) (checkChanged bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if check != u.check {
		checkChanged = true
		u.check = check
		u.gen++
		u.passes, u.fails, u.lastErr, u.downReason = 0, 0, "", ""
		u.checks, u.checkFailed = 0, 0
		u.lastCheck = time.Time{}
		u.down.Store(false)
	}
	if outlier != u.outlier {
		u.outlier = outlier
		u.failures.Store(0)
		if !outlier.Enabled {
			u.ejectedUntil.Store(0)
			u.multiplier = 0
		}
		u.outlierOn.Store(outlier.Enabled)
	}
	return checkChanged
}

// generation returns the checker generation, for a checker to tag its
// results with.
func (u *Upstream) generation() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.gen
}

// checked records the result of an active check made by checker gen.
func (u *Upstream) checked(gen uint64, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if gen != u.gen || !u.check.Enabled {
		return
	}
	u.lastCheck = u.now()
	u.checks++
	if err == nil {
		u.fails, u.lastErr = 0, ""
		u.passes++
		if u.down.Load() && u.passes >= u.check.HealthyThreshold {
			u.down.Store(false)
			u.downReason = ""
			if u.log != nil {
				u.log.Info("upstream healthy again", "upstream", u.name, "checks_passed", u.passes)
			}
		}
		return
	}
	u.checkFailed++
	u.passes = 0
	u.fails++
	u.lastErr = err.Error()
	if !u.down.Load() && u.fails >= u.check.UnhealthyThreshold {
		u.down.Store(true)
		u.downReason = fmt.Sprintf("%d failed health checks: %s", u.fails, u.lastErr)
		if u.log != nil {
			u.log.Warn("upstream unhealthy", "upstream", u.name, "reason", u.downReason)
		}
		if u.notify != nil {
			u.notify(u.name, u.downReason)
		}
	}
}

// Status is what the admin API and the metrics show of an upstream.
type Status struct {
	Name           string     `json:"-"`
	State          string     `json:"state"`
	Reason         string     `json:"reason,omitempty"`
	HealthCheck    bool       `json:"health_check"`
	LastCheck      *time.Time `json:"last_check,omitempty"`
	LastCheckError string     `json:"last_check_error,omitempty"`
	Checks         uint64     `json:"checks"`
	ChecksFailed   uint64     `json:"checks_failed"`
	Outlier        bool       `json:"outlier_detection"`
	EjectedUntil   *time.Time `json:"ejected_until,omitempty"`
	Ejections      uint64     `json:"ejections"`
}

// Status returns the upstream's state now.
func (u *Upstream) Status() Status {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := Status{
		Name: u.name, State: StateHealthy,
		HealthCheck: u.check.Enabled, Checks: u.checks, ChecksFailed: u.checkFailed, LastCheckError: u.lastErr,
		Outlier: u.outlier.Enabled, Ejections: u.ejections,
	}
	if !u.lastCheck.IsZero() {
		t := u.lastCheck.UTC()
		s.LastCheck = &t
	}
	if until := u.ejectedUntil.Load(); until != 0 && u.now().UnixNano() < until {
		t := time.Unix(0, until).UTC()
		s.State, s.Reason, s.EjectedUntil = StateEjected, u.ejectedReason, &t
	}
	if u.down.Load() {
		// A failing check wins: it says more about the upstream now.
		s.State, s.Reason = StateUnhealthy, u.downReason
	}
	return s
}
