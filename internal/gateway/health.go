package gateway

import (
	"context"

	"github.com/rampart-gw/rampart/internal/alert"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/health"
	"github.com/rampart-gw/rampart/internal/metrics"
	"github.com/rampart-gw/rampart/internal/upstream"
)

// openHealth creates the monitor that holds the upstreams' health for the
// gateway's life, and exports it as metrics.
func (g *Gateway) openHealth() {
	g.health = health.NewMonitor(g.log)
	g.health.OnUnhealthy(func(name, reason string) {
		g.alerts.Raise(alert.UpstreamUnhealthy(name, reason))
	})
	g.metrics.RegisterHealth(func() []metrics.UpstreamHealth {
		st := g.health.Statuses()
		out := make([]metrics.UpstreamHealth, len(st))
		for i, s := range st {
			out[i] = metrics.UpstreamHealth{Name: s.Name, Healthy: s.State == health.StateHealthy,
				Ejections: s.Ejections, ChecksFailed: s.ChecksFailed}
		}
		return out
	})
}

// prepareHealth readies the health of cfg's upstreams without changing
// anything yet; commitHealth installs it with the snapshot. A new client
// gets its upstream's handle before any request can use it; a reused
// client already has it (an upstream keeps its handle while it stays in
// the configuration).
func (g *Gateway) prepareHealth(cfg *config.Config, clients map[string]*upstream.Client) *health.Prepared {
	specs := make(map[string]health.Spec, len(clients))
	for name, c := range clients {
		u := cfg.Upstreams[name]
		s := health.Spec{Check: u.HealthCheck, Outlier: u.OutlierDetection, Key: c}
		if u.HealthCheck.Enabled {
			s.Probe = health.HTTPProbe(c, u.HealthCheck)
		}
		specs[name] = s
	}
	p := g.health.Prepare(specs)
	for name, c := range clients {
		if g.clients[name] != c {
			c.Health = p.Upstream(name)
		}
	}
	return p
}

// runHealth runs the active checks until the returned stop is called;
// stop returns once every checker has ended.
func (g *Gateway) runHealth() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.health.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// upstreamHealth returns the health of the named upstream for the admin
// API, or nil when it has none.
func (g *Gateway) upstreamHealth(name string) *health.Status {
	u := g.health.Upstream(name)
	if u == nil {
		return nil
	}
	s := u.Status()
	return &s
}
