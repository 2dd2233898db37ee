package gateway

import (
	"fmt"
	"reflect"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/rampart-gw/rampart/internal/limits"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/tokenizer"
	"github.com/redis/go-redis/v9"
)

// limitBackend is the counter store of the limits stage. It outlives
// reloads, so that a reload does not reset the counters.
type limitBackend struct {
	kind, url string
	backend   limits.Backend
	client    *redis.Client
}

// buildStages adds the stages after routing, in the order of the request
// path: authorization (ahead of the WAF too: a caller that may not send the
// request costs nothing more), limits (cheap, and refusing early saves the
// rest), guards, DLP.
func (g *Gateway) buildStages(cfg *config.Config, snap *proxy.Snapshot, b *built) error {
	if cfg.Authz != nil {
		az, err := newAuthzStage(cfg.Authz, g.log)
		if err != nil {
			return fmt.Errorf("authz: %w", err)
		}
		snap.Stages = append([]proxy.Stage{az}, snap.Stages...)
		snap.Models = az
	}
	var ls limitStage
	if n := cfg.Limits.MaxInFlightPerKey; n > 0 {
		ls.inFlight = g.prev.inFlight
		if ls.inFlight == nil || ls.inFlight.Max() != n {
			ls.inFlight = limits.NewKeyInFlight(n)
		}
		b.inFlight = ls.inFlight
	}
	if len(cfg.Limits.Rules) > 0 {
		be, err := g.limitBackend(cfg.Limits)
		if err != nil {
			return err
		}
		b.backend = be
		mode := limits.FailClosed
		if cfg.Limits.FailMode == "local" {
			mode = limits.FailLocal
		}
		l, err := limits.New(cfg.Limits.Rules, be.backend, limits.Options{Prices: cfg.Limits.Prices, FailMode: mode, Logger: g.log})
		if err != nil {
			return fmt.Errorf("limits: %w", err)
		}
		ls.l = l
		for _, r := range cfg.Routes {
			tokenizer.Preload(r.Models...)
			for _, t := range r.Upstreams {
				tokenizer.Preload(t.Model)
			}
		}
	}
	if ls.l != nil || ls.inFlight != nil {
		ls.est = tokenizer.ForModel
		snap.Stages = append(snap.Stages, ls)
	}
	if cfg.Guards.Enabled {
		gd := g.prev.guards
		if gd == nil || !reflect.DeepEqual(g.prev.guardsC, cfg.Guards) {
			var err error
			if gd, err = guard.New(cfg.Guards, g.log); err != nil {
				return fmt.Errorf("guards: %w", err)
			}
		}
		b.guards, b.guardsC = gd, cfg.Guards
		snap.Stages = append(snap.Stages, guardStage{gd})
	}
	if cfg.DLP.Enabled {
		sc, err := dlp.New(cfg.DLP)
		if err != nil {
			return fmt.Errorf("dlp: %w", err)
		}
		snap.Stages = append(snap.Stages, dlpStage{sc})
	}
	return nil
}

// limitBackend returns the counter store for c, reusing the current one
// when its settings did not change.
func (g *Gateway) limitBackend(c config.Limits) (*limitBackend, error) {
	if old := g.prev.backend; old != nil && old.kind == c.Backend && old.url == c.RedisURL {
		return old, nil
	}
	be := &limitBackend{kind: c.Backend, url: c.RedisURL}
	if c.Backend != "redis" {
		be.backend = limits.NewMemory(limits.MemoryOptions{})
		return be, nil
	}
	opts, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		// The error of a URL that does not parse quotes it, password
		// included: Validate refuses such URLs, and this says what is
		// wrong without the URL should it be bypassed.
		return nil, fmt.Errorf("limits.redis_url: %w", config.URLError(c.RedisURL, err))
	}
	be.client = redis.NewClient(opts)
	rb, err := limits.NewRedis(be.client, limits.RedisOptions{})
	if err != nil {
		be.client.Close()
		return nil, fmt.Errorf("limits: %w", err)
	}
	be.backend = rb
	return be, nil
}
