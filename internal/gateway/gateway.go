// Package gateway wires the stages into a running gateway: it compiles a
// configuration into an immutable snapshot, opens the listeners, serves,
// reloads on SIGHUP or file change, and shuts down gracefully.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-gw/rampart/internal/accesslog"
	"github.com/rampart-gw/rampart/internal/alert"
	"github.com/rampart-gw/rampart/internal/audit"
	"github.com/rampart-gw/rampart/internal/auth"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/rampart-gw/rampart/internal/health"
	"github.com/rampart-gw/rampart/internal/keys"
	"github.com/rampart-gw/rampart/internal/killswitch"
	"github.com/rampart-gw/rampart/internal/limits"
	"github.com/rampart-gw/rampart/internal/metrics"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/route"
	"github.com/rampart-gw/rampart/internal/server"
	"github.com/rampart-gw/rampart/internal/store"
	"github.com/rampart-gw/rampart/internal/trace"
	"github.com/rampart-gw/rampart/internal/upstream"
	"github.com/rampart-gw/rampart/internal/waf"
)

// Options are how the gateway is started, beyond its configuration.
type Options struct {
	// ConfigPath is the file to reload from; empty disables reloading
	// from a file (the demo).
	ConfigPath string
	// Log is the process log.
	Log *slog.Logger
	// AccessLog writes one line per request; nil turns it off.
	AccessLog *accesslog.Logger
}

// Gateway is a running gateway.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	handler *proxy.Handler
	metrics *metrics.Metrics
	store   store.Store
	keys    *keys.Service
	audit   *audit.Writer
	usage   *limits.UsageRecorder
	tracer  *trace.Tracer
	alerts  *alert.Notifier
	client  *server.Server
	admin   *server.Server

	watcher  *watcher
	draining atomic.Bool
	kill     *killswitch.Switch
	// killWait replaces adminKillWait when set (tests).
	killWait time.Duration
	// health holds the upstreams' health across reloads.
	health *health.Monitor

	mu      sync.Mutex // serialises reloads
	cfg     *config.Config
	clients map[string]*upstream.Client
	waf     *waf.WAF
	prev    built
}

// New builds a gateway from cfg and opens its listeners.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Gateway, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	g := &Gateway{opts: opts, log: opts.Log, clients: map[string]*upstream.Client{}}
	if err := g.openTelemetry(ctx, cfg); err != nil {
		return nil, err
	}
	if err := g.openStore(ctx, cfg); err != nil {
		return nil, err
	}
	if err := g.openKillSwitch(ctx, cfg); err != nil {
		g.closeStore()
		return nil, err
	}
	g.metrics = metrics.New(func() float64 {
		if g.handler == nil {
			return 0
		}
		return float64(g.handler.InFlight())
	})
	if w := g.audit; w != nil {
		g.metrics.RegisterAudit(func() (uint64, uint64, uint64, int) {
			st := w.Stats()
			return st.Written, st.Spooled, st.Dropped, st.Queued
		})
	}
	g.registerAlertMetrics()
	g.openHealth()
	snap, b, err := g.build(cfg)
	if err != nil {
		g.closeStore()
		return nil, err
	}
	g.health.Commit(b.health)
	g.cfg, g.clients, g.waf, g.prev = cfg, b.clients, b.waf, b
	g.kill.SetStatic(cfg.Killed, upstream.ErrKilled)
	g.handler = proxy.New(snap)
	if g.client, err = server.Listen("client", &cfg.Listen, g.clientHandler(), g.log); err != nil {
		g.closeStore()
		return nil, err
	}
	if opts.ConfigPath != "" {
		g.startWatching()
	}
	if cfg.Admin.Addr != "off" {
		if g.admin, err = server.ListenAdmin(cfg.Admin.Addr, cfg.Admin.TLS, g.adminHandler(), g.log); err != nil {
			g.client.Listener.Close()
			if g.watcher != nil {
				g.watcher.close()
			}
			g.closeStore()
			return nil, err
		}
	}
	return g, nil
}

func (g *Gateway) openStore(ctx context.Context, cfg *config.Config) error {
	apiKeys := cfg.Auth.APIKeys == nil || *cfg.Auth.APIKeys
	if !apiKeys && !cfg.Audit.On() {
		return nil
	}
	// A shared store that cannot be reached fails start-up rather than
	// falling back to a local one. The error names the user, host and
	// database, never the password.
	st, err := store.Open(ctx, cfg.Store.Postgres, cfg.SQLitePath())
	if err != nil {
		return err
	}
	g.store = st
	g.openUsage(cfg)
	if apiKeys {
		g.keys = keys.NewService(st.Keys(), keys.Options{Logger: g.log})
	}
	if err := g.openAudit(cfg); err != nil {
		g.closeStore()
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func (g *Gateway) closeStore() {
	g.closeUsage()
	g.closeAudit()
	if g.store != nil {
		_ = g.store.Close()
	}
}

// Keys returns the API key service, or nil when store keys are off.
func (g *Gateway) Keys() *keys.Service { return g.keys }

// ClientAddr is the client listener's address.
func (g *Gateway) ClientAddr() string { return g.client.Addr() }

// AdminAddr is the admin listener's address, or "" when it is off.
func (g *Gateway) AdminAddr() string {
	if g.admin == nil {
		return ""
	}
	return g.admin.Addr()
}

// built holds what a snapshot was built from that the next build may reuse.
type built struct {
	clients map[string]*upstream.Client
	waf     *waf.WAF
	guards  *guard.Guards
	guardsC guard.Config
	backend *limitBackend
	// inFlight carries the per-key in-flight counts across reloads.
	inFlight *limits.KeyInFlight
	// health is the upstreams' health, committed with the snapshot.
	health *health.Prepared
}

// build compiles cfg into a snapshot, reusing upstream clients whose
// settings did not change, so that their warm connections survive, and the
// compiled WAF when its rules did not change.
func (g *Gateway) build(cfg *config.Config) (*proxy.Snapshot, built, error) {
	clients := make(map[string]*upstream.Client, len(cfg.Upstreams))
	var upNames, routeNames []string
	for name, u := range cfg.Upstreams {
		if old, ok := g.clients[name]; ok && old.SameSettings(u) {
			clients[name] = old
		} else {
			c, err := upstream.New(name, u, g.log)
			if err != nil {
				return nil, built{}, err
			}
			clients[name] = c
		}
		upNames = append(upNames, name)
	}
	hp := g.prepareHealth(cfg, clients)
	table, err := route.Build(cfg, clients)
	if err != nil {
		return nil, built{}, err
	}
	for _, r := range table.Routes() {
		routeNames = append(routeNames, r.Name)
	}
	authn, err := auth.New(cfg.Auth, g.keys, g.log)
	if err != nil {
		return nil, built{}, fmt.Errorf("auth: %w", err)
	}
	ipr, err := proxy.NewClientIPResolver(cfg.Listen.TrustedProxies)
	if err != nil {
		return nil, built{}, fmt.Errorf("listen.trusted_proxies: %w", err)
	}
	// The rules are compiled when the section or any route turns them on.
	wcfg := cfg.WAF
	wcfg.Enabled = cfg.WAFWanted()
	w, err := waf.Reuse(g.waf, wcfg, g.log)
	if err != nil {
		return nil, built{}, fmt.Errorf("waf: %w", err)
	}
	if wcfg.Enabled && w != g.waf {
		g.log.Info("waf rules compiled", "fingerprint", w.Key())
	}
	l := &cfg.Listen
	snap := &proxy.Snapshot{
		Routes:   table,
		Auth:     authn,
		ClientIP: ipr,
		Log:      g.log,
		Decode:   openai.Limits{MaxDepth: 64},
		Limits: proxy.Limits{
			MaxBodyBytes:     l.MaxBodyBytes,
			BodyIdleTimeout:  l.BodyIdleTimeout,
			WriteIdleTimeout: l.WriteIdleTimeout,
			MaxHeaderCount:   l.MaxHeaderCount,
			MaxInFlight:      int64(l.MaxInFlight),
			MaxResponseBytes: 64 << 20,
			MaxEventBytes:    4 << 20,
		},
		Sinks: []proxy.Sink{g.metrics.SetNames(routeNames, upNames)},
		Kill:  g.kill,
	}
	if g.opts.AccessLog != nil {
		snap.Sinks = append(snap.Sinks, g.opts.AccessLog)
	}
	if len(cfg.KillTriggers) > 0 {
		snap.Sinks = append(snap.Sinks, newTriggers(g, cfg.KillTriggers))
	}
	b := built{clients: clients, waf: w, health: hp}
	if wcfg.Enabled {
		// First of the stages, once the request is routed: a route may
		// turn the WAF off or choose its body scope.
		snap.Stages = append(snap.Stages, wafStage{w: w, on: cfg.WAF.Enabled})
	}
	if err := g.buildStages(cfg, snap, &b); err != nil {
		return nil, built{}, err
	}
	if err := g.addCapture(cfg, snap); err != nil {
		return nil, built{}, fmt.Errorf("audit.capture: %w", err)
	}
	g.addAudit(cfg, snap)
	g.addUsage(cfg, snap)
	g.addTelemetry(cfg, snap)
	return snap, b, nil
}

// Reload reads the configuration file again and swaps in the new snapshot.
// A bad file leaves the old configuration serving.
func (g *Gateway) Reload() error {
	if g.opts.ConfigPath == "" {
		return errors.New("no configuration file to reload from")
	}
	cfg, err := config.Load(g.opts.ConfigPath)
	if err != nil {
		g.metrics.Reload(false)
		g.log.Error("configuration reload rejected; the previous configuration keeps serving",
			"file", g.opts.ConfigPath, "error", err.Error())
		return err
	}
	return g.Apply(cfg)
}

// Apply swaps in a new configuration.
func (g *Gateway) Apply(cfg *config.Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cfg.Listen.Addr != g.cfg.Listen.Addr || cfg.Admin.Addr != g.cfg.Admin.Addr {
		g.log.Warn("listener addresses changed in the configuration; they take effect at the next restart")
	}
	snap, b, err := g.build(cfg)
	if err != nil {
		g.metrics.Reload(false)
		g.log.Error("configuration reload rejected; the previous configuration keeps serving", "error", err.Error())
		return err
	}
	old, oldWAF, oldBackend := g.clients, g.waf, g.prev.backend
	g.kill.SetStatic(cfg.Killed, upstream.ErrKilled)
	g.handler.Swap(snap)
	g.client.SetWriteBound(cfg.Listen.WriteIdleTimeout)
	g.health.Commit(b.health)
	g.cfg, g.clients, g.waf, g.prev = cfg, b.clients, b.waf, b
	if oldWAF != nil && oldWAF != b.waf {
		// Requests in flight finish on the old rules first.
		time.AfterFunc(time.Minute, func() { _ = oldWAF.Close() })
	}
	if oldBackend != nil && oldBackend != b.backend && oldBackend.client != nil {
		time.AfterFunc(time.Minute, func() { _ = oldBackend.client.Close() })
	}
	for name, c := range old {
		if b.clients[name] != c {
			// Requests in flight keep their connections; idle ones go.
			time.AfterFunc(time.Minute, c.CloseIdle)
		}
	}
	g.metrics.Reload(true)
	g.log.Info("configuration reloaded", "routes", len(cfg.Routes), "upstreams", len(cfg.Upstreams))
	return nil
}

// Config returns the configuration serving now.
func (g *Gateway) Config() *config.Config {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cfg
}

// Run serves until ctx ends, then shuts down gracefully: listeners close,
// requests in flight get up to grace to finish.
func (g *Gateway) Run(ctx context.Context, grace time.Duration) error {
	errc := make(chan error, 3)
	go func() { errc <- g.client.Serve() }()
	if g.admin != nil {
		go func() { errc <- g.admin.Serve() }()
	}
	// The key service outlives the listeners, so that its last flush of
	// last-used times happens before the store closes.
	kctx, kcancel := context.WithCancel(context.Background())
	defer kcancel()
	kdone := make(chan struct{})
	if g.keys != nil {
		go func() { g.keys.Run(kctx); close(kdone) }()
	} else {
		close(kdone)
	}
	// The watcher reloads on file changes; it is stopped and waited for
	// before shutdown reads the configuration's state.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	wdone := make(chan struct{})
	if g.watcher != nil {
		go func() { g.watch(wctx); close(wdone) }()
	} else {
		close(wdone)
	}
	// Kills and revivals made by other instances, until the store closes.
	ksdone := make(chan struct{})
	go func() { g.kill.Run(kctx); close(ksdone) }()
	stopHealth := g.runHealth()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	// Not ready any more: load balancers stop sending new requests while
	// those in flight finish.
	g.draining.Store(true)
	wcancel()
	<-wdone
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = g.client.Shutdown(sctx)
	if g.admin != nil {
		_ = g.admin.Shutdown(sctx)
	}
	stopHealth()
	kcancel()
	select {
	case <-kdone:
	case <-time.After(5 * time.Second):
		g.log.Warn("the key service did not stop within 5s")
	}
	<-ksdone
	if be := g.prev.backend; be != nil && be.client != nil {
		_ = be.client.Close()
	}
	g.closeStore()
	g.closeTelemetry()
	return err
}
