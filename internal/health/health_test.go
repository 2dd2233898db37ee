package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/upstream"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func outlier() config.OutlierDetection {
	return config.OutlierDetection{Enabled: true, ConsecutiveFailures: 3, BaseEjectionTime: 10 * time.Second, MaxEjectionTime: 25 * time.Second}
}

func TestNilUpstreamIsUsable(t *testing.T) {
	t.Parallel()
	var u *Upstream
	if ok, _ := u.Usable(); !ok {
		t.Fatal("a nil upstream is not usable")
	}
	u.Observe(false) // must not panic
}

// TestOutlierEjection: a run of failures ejects for the base time; the
// next ejection lasts longer, up to the cap; a success breaks a run; the
// multiplier decays while the upstream serves.
func TestOutlierEjection(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	u := newUpstream("a", nil)
	u.now = c.now
	u.setConfig(config.HealthCheck{}, outlier())
	fail := func(n int) {
		for range n {
			u.Observe(false)
		}
	}
	usable := func() bool { ok, _ := u.Usable(); return ok }

	fail(2)
	u.Observe(true)
	fail(2)
	if !usable() {
		t.Fatal("ejected without a run of 3 consecutive failures")
	}
	fail(1)
	ok, wait := u.Usable()
	if ok || wait != 10*time.Second {
		t.Fatalf("after 3 failures: usable=%v wait=%v, want ejected for 10s", ok, wait)
	}
	if s := u.Status(); s.State != StateEjected || s.Ejections != 1 || s.Reason == "" {
		t.Fatalf("status %+v", s)
	}
	c.t = c.t.Add(10 * time.Second)
	if !usable() {
		t.Fatal("still ejected after the base ejection time")
	}
	fail(3)
	if _, wait := u.Usable(); wait != 20*time.Second {
		t.Fatalf("second ejection lasts %v, want 20s", wait)
	}
	c.t = c.t.Add(20 * time.Second)
	fail(3)
	if _, wait := u.Usable(); wait != 25*time.Second {
		t.Fatalf("third ejection lasts %v, want the 25s cap", wait)
	}
	// 30s served after it ends: the multiplier (3) falls by 3.
	c.t = c.t.Add(25*time.Second + 30*time.Second)
	fail(3)
	if _, wait := u.Usable(); wait != 10*time.Second {
		t.Fatalf("after a long healthy spell the ejection lasts %v, want 10s", wait)
	}
	// Turning detection off lifts the ejection.
	u.setConfig(config.HealthCheck{}, config.OutlierDetection{})
	if !usable() {
		t.Fatal("still ejected with outlier detection off")
	}
	fail(10)
	if !usable() {
		t.Fatal("ejected with outlier detection off")
	}
}

// TestActiveThresholds: unhealthy after UnhealthyThreshold failed checks
// in a row, healthy again after HealthyThreshold passed ones; results of
// an older checker are dropped.
func TestActiveThresholds(t *testing.T) {
	t.Parallel()
	u := newUpstream("a", nil)
	hc := config.HealthCheck{Enabled: true, Path: "/models", Method: "GET", Interval: time.Second, Timeout: time.Second, HealthyThreshold: 2, UnhealthyThreshold: 3}
	u.setConfig(hc, config.OutlierDetection{})
	gen := u.generation()
	bad := errors.New("status 500")
	steps := []struct {
		err     error
		healthy bool
	}{
		{bad, true}, {bad, true}, {nil, true}, // a pass breaks the run
		{bad, true}, {bad, true}, {bad, false},
		{nil, false}, {bad, false}, {nil, false}, {nil, true},
	}
	for i, s := range steps {
		u.checked(gen, s.err)
		if ok, _ := u.Usable(); ok != s.healthy {
			t.Fatalf("step %d: usable=%v, want %v (%+v)", i, ok, s.healthy, u.Status())
		}
	}
	u.checked(gen+1, bad)
	u.checked(gen+1, bad)
	u.checked(gen+1, bad)
	if ok, _ := u.Usable(); !ok {
		t.Fatal("a stale checker's results counted")
	}
	st := u.Status()
	if !st.HealthCheck || st.Checks != uint64(len(steps)) || st.ChecksFailed != 6 || st.LastCheck == nil {
		t.Fatalf("status %+v", st)
	}
}

// TestMonitorChecksOverHTTP: a real upstream over loopback turns unhealthy
// when its check fails and healthy when it passes again; a reload that
// changes the check restarts the checker; stopping Run ends every checker
// goroutine.
func TestMonitorChecksOverHTTP(t *testing.T) {
	base := runtime.NumGoroutine()
	var failing atomic.Bool
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/v1/models" || r.Method != http.MethodGet {
			http.Error(w, "wrong check", http.StatusNotFound)
			return
		}
		if failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"data":[]}`))
	}))
	defer srv.Close()
	ucfg := &config.Upstream{URL: srv.URL + "/v1"}
	ucfg.SetDefaults()
	client, err := upstream.New("a", ucfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdle()
	hc := config.HealthCheck{Enabled: true, Path: "/models", Method: "GET", Interval: 20 * time.Millisecond, Timeout: 20 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2}
	m := NewMonitor(nil)
	p := m.Prepare(map[string]Spec{"a": {Check: hc, Probe: HTTPProbe(client, hc), Key: client}, "b": {}})
	m.Commit(p)
	u := p.Upstream("a")
	if u == nil || p.Upstream("b") == nil || p.Upstream("c") != nil {
		t.Fatal("Prepare did not return one handle per upstream")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()

	waitFor(t, func() bool { return u.Status().Checks >= 2 })
	if ok, _ := u.Usable(); !ok {
		t.Fatalf("a passing upstream is unusable: %+v", u.Status())
	}
	failing.Store(true)
	waitFor(t, func() bool { ok, _ := u.Usable(); return !ok })
	if st := u.Status(); st.State != StateUnhealthy || st.LastCheckError != "status 503" {
		t.Fatalf("status %+v", st)
	}
	failing.Store(false)
	waitFor(t, func() bool { ok, _ := u.Usable(); return ok })

	// A reload with a slower check restarts the checker with it; the
	// state of the upstream starts over, the handle stays.
	hc2 := hc
	hc2.Interval = time.Hour
	p2 := m.Prepare(map[string]Spec{"a": {Check: hc2, Probe: HTTPProbe(client, hc2), Key: client}})
	if p2.Upstream("a") != u {
		t.Fatal("a reload replaced the handle of a kept upstream")
	}
	m.Commit(p2)
	waitFor(t, func() bool { return u.Status().Checks == 1 })
	n := hits.Load()
	time.Sleep(100 * time.Millisecond) // five old intervals: the old checker must be gone
	if got := hits.Load(); got != n {
		t.Fatalf("the old checker kept checking: %d checks after the reload", got-n)
	}
	if len(m.Statuses()) != 1 || m.Upstream("b") != nil {
		t.Fatalf("a removed upstream is still tracked: %+v", m.Statuses())
	}

	cancel()
	<-done
	waitFor(t, func() bool { return runtime.NumGoroutine() <= base+2 }) // the test server's idle conns
	client.CloseIdle()
}

// TestCommitBeforeRun: checkers start only inside Run.
func TestCommitBeforeRun(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	probe := func(context.Context) error { calls.Add(1); return nil }
	hc := config.HealthCheck{Enabled: true, Interval: 10 * time.Millisecond, Timeout: 10 * time.Millisecond, HealthyThreshold: 1, UnhealthyThreshold: 1}
	m := NewMonitor(nil)
	m.Commit(m.Prepare(map[string]Spec{"a": {Check: hc, Probe: probe}}))
	time.Sleep(50 * time.Millisecond)
	if calls.Load() != 0 {
		t.Fatal("a check ran before Run")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	waitFor(t, func() bool { return calls.Load() >= 3 })
	cancel()
	<-done
	n := calls.Load()
	time.Sleep(50 * time.Millisecond)
	if calls.Load() != n {
		t.Fatal("checks continued after Run returned")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOnUnhealthy: the monitor's function hears of each ejection and of
// each turn to unhealthy, once per transition, with the reason.
func TestOnUnhealthy(t *testing.T) {
	t.Parallel()
	var got []string
	m := NewMonitor(nil)
	m.OnUnhealthy(func(name, reason string) { got = append(got, name+": "+reason) })
	p := m.Prepare(map[string]Spec{"a": {Outlier: outlier()}, "b": {}})
	m.Commit(p)
	a := p.Upstream("a")
	for range 5 { // three eject; two more while ejected change nothing
		a.Observe(false)
	}
	b := p.Upstream("b")
	hc := config.HealthCheck{Enabled: true, Interval: time.Second, Timeout: time.Second, HealthyThreshold: 1, UnhealthyThreshold: 2}
	b.setConfig(hc, config.OutlierDetection{})
	gen := b.generation()
	for range 4 {
		b.checked(gen, errors.New("status 503"))
	}
	want := []string{"a: ejected for 10s after 3 consecutive failures", "b: 2 failed health checks: status 503"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("notified %q, want %q", got, want)
	}
}
