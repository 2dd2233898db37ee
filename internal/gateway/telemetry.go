package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-gw/rampart/internal/alert"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/trace"
)

// openTelemetry starts the tracer and the alert notifier. Both live as
// long as the process: a change of telemetry or alerts takes effect at the
// next restart.
func (g *Gateway) openTelemetry(ctx context.Context, cfg *config.Config) error {
	t, err := trace.New(ctx, cfg.Telemetry.Traces, "")
	if err != nil {
		return err
	}
	g.tracer = t
	a := &cfg.Alerts
	sinks := make([]alert.Sink, 0, len(a.Sinks))
	for _, s := range a.Sinks {
		sinks = append(sinks, alert.Sink{Name: s.Name, URL: s.URL, Format: s.Format, Headers: s.Headers, Timeout: s.Timeout})
	}
	g.alerts = alert.New(alert.Options{Sinks: sinks, Dedup: a.Dedup, MaxPerMinute: a.MaxPerMinute, Queue: a.Queue, Log: g.log})
	return nil
}

// registerAlertMetrics exports the notifier's counters.
func (g *Gateway) registerAlertMetrics() {
	n := g.alerts
	if n == nil {
		return
	}
	counter := func(name, help string, pick func(alert.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(pick(n.Stats())) })
	}
	g.metrics.Registry.MustRegister(
		counter("rampart_alerts_sent_total", "Alert deliveries a webhook accepted.", func(s alert.Stats) uint64 { return s.Sent }),
		counter("rampart_alerts_failed_total", "Alert deliveries that failed.", func(s alert.Stats) uint64 { return s.Failed }),
		counter("rampart_alerts_deduplicated_total", "Incidents not sent again within the dedup window.", func(s alert.Stats) uint64 { return s.Deduplicated }),
		counter("rampart_alerts_dropped_total", "Incidents dropped: the alert queue was full or over the rate limit.", func(s alert.Stats) uint64 { return s.Dropped }),
	)
}

// closeTelemetry exports the last spans and sends the queued alerts.
func (g *Gateway) closeTelemetry() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.tracer.Shutdown(ctx); err != nil {
		g.log.Warn("traces not exported at shutdown", "err", err)
	}
	if err := g.alerts.Close(ctx); err != nil {
		g.log.Warn("alerts not sent at shutdown", "err", err)
	}
}

// Alerts returns the incident notifier (nil when no sink is configured;
// a nil notifier is valid). Upstreams that fail their health checks or
// are ejected raise alert.UpstreamUnhealthy through it.
func (g *Gateway) Alerts() *alert.Notifier { return g.alerts }

// clientHandler is the client API, wrapped in the tracer when tracing is on.
func (g *Gateway) clientHandler() http.Handler { return g.tracer.Handler(g.handler) }

// addTelemetry puts the alert watcher in snap and, when tracing is on,
// wraps the authenticator and every stage in spans.
func (g *Gateway) addTelemetry(cfg *config.Config, snap *proxy.Snapshot) {
	if w := alert.NewWatcher(g.alerts, cfg.Alerts.BlockedBurst, cfg.Alerts.BlockedWindow); w != nil {
		snap.Sinks = append(snap.Sinks, w)
	}
	if g.tracer == nil {
		return
	}
	snap.Auth = tracedAuth{snap.Auth}
	for i, st := range snap.PreStages {
		snap.PreStages[i] = tracedStage{name: stageName(st), st: st}
	}
	for i, st := range snap.Stages {
		snap.Stages[i] = tracedStage{name: stageName(st), st: st}
	}
}

// stageName names a stage's span.
func stageName(st proxy.Stage) string {
	switch st.(type) {
	case *authzStage:
		return "authz"
	case wafStage:
		return "waf"
	case limitStage:
		return "limits"
	case guardStage:
		return "guard"
	case dlpStage:
		return "dlp"
	case auditStage:
		return "audit"
	case captureStage:
		return "capture"
	}
	return "stage"
}

// tracedStage runs a stage in a child span of the request.
type tracedStage struct {
	name string
	st   proxy.Stage
}

// Check implements proxy.Stage.
func (s tracedStage) Check(ctx context.Context, c *proxy.Call) error {
	ctx, span := trace.Start(ctx, s.name)
	err := s.st.Check(ctx, c)
	span.End(err)
	return err
}

// tracedAuth authenticates in a child span, and ties the request's record
// to its trace: it is the first to see the record.
type tracedAuth struct{ a proxy.Authenticator }

// Authenticate implements proxy.Authenticator.
func (t tracedAuth) Authenticate(ctx context.Context, r *http.Request) (*record.Principal, error) {
	trace.Bind(ctx, record.From(ctx))
	ctx, span := trace.Start(ctx, "auth")
	p, err := t.a.Authenticate(ctx, r)
	span.End(err)
	return p, err
}
