package health

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
)

// Probe makes one active check; nil means the upstream passed. ctx carries
// the check's timeout.
type Probe func(ctx context.Context) error

// Spec is what a configuration says of one upstream's health.
type Spec struct {
	Check   config.HealthCheck
	Outlier config.OutlierDetection
	// Probe makes the active check; required when Check is enabled.
	Probe Probe
	// Key identifies what Probe calls (the upstream client): a new key
	// restarts the checker.
	Key any
}

// Monitor holds the health of every upstream of the gateway and runs their
// active checks. Checkers run only inside Run, so their goroutines end with
// the gateway; a configuration change restarts the checkers it changes.
type Monitor struct {
	log *slog.Logger
	// notify, when set, is told of each upstream that turns unhealthy or
	// is ejected (an incident for the alert sinks).
	notify func(upstream, reason string)

	mu      sync.Mutex
	ups     map[string]*Upstream
	specs   map[string]Spec
	running map[string]*checker
	ctx     context.Context // set while Run runs
	wg      sync.WaitGroup
}

// checker is one running active check.
type checker struct {
	key    any
	check  config.HealthCheck
	cancel context.CancelFunc
	done   chan struct{}
}

// NewMonitor returns a monitor without upstreams.
func NewMonitor(log *slog.Logger) *Monitor {
	if log == nil {
		log = slog.Default()
	}
	return &Monitor{log: log, ups: map[string]*Upstream{}, specs: map[string]Spec{}, running: map[string]*checker{}}
}

// OnUnhealthy sets the function told of each upstream that fails its
// active check's threshold or is ejected by outlier detection, with the
// reason. Call it before the first Prepare. f must not block.
func (m *Monitor) OnUnhealthy(f func(upstream, reason string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notify = f
}

// Prepared is the health of a configuration's upstreams, ready to be
// committed once the rest of the configuration built.
type Prepared struct {
	ups   map[string]*Upstream
	specs map[string]Spec
}

// Upstream returns the health handle of the named upstream (nil when the
// name is unknown, which is always usable).
func (p *Prepared) Upstream(name string) *Upstream {
	if p == nil {
		return nil
	}
	return p.ups[name]
}

// Prepare returns the handles of a configuration's upstreams without
// changing anything yet: an upstream already known keeps its handle and
// state.
func (m *Monitor) Prepare(specs map[string]Spec) *Prepared {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := &Prepared{ups: make(map[string]*Upstream, len(specs)), specs: specs}
	for name := range specs {
		if u, ok := m.ups[name]; ok {
			p.ups[name] = u
		} else {
			p.ups[name] = newUpstream(name, m.log)
			p.ups[name].notify = m.notify
		}
	}
	return p
}

// Commit installs a prepared configuration: settings are applied, removed
// upstreams forgotten, and checkers whose settings changed restarted. It
// waits for the checkers it stops.
func (m *Monitor) Commit(p *Prepared) {
	m.mu.Lock()
	var stopped []*checker
	for name, c := range m.running {
		s, ok := p.specs[name]
		if !ok || !s.Check.Enabled || s.Check != c.check || s.Key != c.key || p.ups[name] != m.ups[name] {
			c.cancel()
			stopped = append(stopped, c)
			delete(m.running, name)
		}
	}
	for name, u := range p.ups {
		s := p.specs[name]
		u.setConfig(s.Check, s.Outlier)
	}
	m.ups, m.specs = p.ups, p.specs
	if m.ctx != nil {
		m.startLocked()
	}
	m.mu.Unlock()
	for _, c := range stopped {
		<-c.done
	}
}

// startLocked starts the checkers that should run and do not.
func (m *Monitor) startLocked() {
	for name, s := range m.specs {
		if !s.Check.Enabled || s.Probe == nil {
			continue
		}
		if _, ok := m.running[name]; ok {
			continue
		}
		u := m.ups[name]
		ctx, cancel := context.WithCancel(m.ctx)
		c := &checker{key: s.Key, check: s.Check, cancel: cancel, done: make(chan struct{})}
		m.running[name] = c
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer close(c.done)
			runChecker(ctx, u, u.generation(), s.Check, s.Probe)
		}()
	}
}

// Run runs the active checks until ctx ends, then stops them all and
// returns once every checker goroutine has returned.
func (m *Monitor) Run(ctx context.Context) {
	m.mu.Lock()
	m.ctx = ctx
	m.startLocked()
	m.mu.Unlock()
	<-ctx.Done()
	m.mu.Lock()
	for name, c := range m.running {
		c.cancel()
		delete(m.running, name)
	}
	m.ctx = nil
	m.mu.Unlock()
	m.wg.Wait()
}

// Statuses returns the state of every upstream, by name.
func (m *Monitor) Statuses() []Status {
	m.mu.Lock()
	ups := make([]*Upstream, 0, len(m.ups))
	for _, u := range m.ups {
		ups = append(ups, u)
	}
	m.mu.Unlock()
	out := make([]Status, 0, len(ups))
	for _, u := range ups {
		out = append(out, u.Status())
	}
	slices.SortFunc(out, func(a, b Status) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// Upstream returns the handle of a committed upstream, or nil.
func (m *Monitor) Upstream(name string) *Upstream {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ups[name]
}

// runChecker checks at once, then every interval (with a little jitter, so
// that the checks of many upstreams do not line up), until ctx ends.
func runChecker(ctx context.Context, u *Upstream, gen uint64, hc config.HealthCheck, probe Probe) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, hc.Timeout)
		err := probe(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		u.checked(gen, err)
		jitter := time.Duration(rand.Int64N(int64(hc.Interval)/10 + 1))
		t.Reset(hc.Interval - hc.Interval/20 + jitter)
	}
}
