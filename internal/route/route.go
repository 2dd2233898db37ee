// Package route decides which upstreams serve a requested model: routes
// match model names exactly or by glob, map public names to upstream model
// names, and list their upstreams in failover order.
package route

import (
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/policy"
	"github.com/rampart-gw/rampart/internal/reasoning"
	"github.com/rampart-gw/rampart/internal/upstream"
	"github.com/rampart-gw/rampart/internal/waf"
)

// Target is one upstream of a route.
type Target struct {
	Client *upstream.Client
	// Model, when set, is the model name sent to this upstream.
	Model string
	// Priority and Weight order the targets for each request; see Order.
	Priority int
	Weight   int
}

// Route is a compiled route. It is immutable once built.
type Route struct {
	Name    string
	Targets []Target
	// Policy renders the reasoning channel for the client.
	Policy    reasoning.Policy
	Heartbeat time.Duration
	MaxTokens int
	// MaxAttempts bounds upstream attempts for one request.
	MaxAttempts int
	// Backoff is the base delay between attempts.
	Backoff time.Duration
	// PrivateWhen, when set, sends matching requests to private upstreams
	// only.
	PrivateWhen *policy.Expr
	// WAF is the route's WAF setting: on or off, body scope.
	WAF waf.RouteConfig

	ordered bool // some target has a priority or a weight
	exact   map[string]struct{}
	globs   []string
	aliases map[string]string
	listed  []string
}

// Table is an ordered list of routes.
type Table struct {
	routes []*Route
	models []string
}

// Build compiles the routes of cfg, resolving upstream names in clients.
func Build(cfg *config.Config, clients map[string]*upstream.Client) (*Table, error) {
	t := &Table{}
	seen := map[string]bool{}
	for i, rc := range cfg.Routes {
		r, err := buildRoute(i, rc, clients)
		if err != nil {
			return nil, err
		}
		t.routes = append(t.routes, r)
		for _, m := range r.listed {
			if !seen[m] {
				seen[m] = true
				t.models = append(t.models, m)
			}
		}
	}
	sort.Strings(t.models)
	return t, nil
}

func buildRoute(i int, rc *config.Route, clients map[string]*upstream.Client) (*Route, error) {
	r := &Route{
		Name:      rc.Name,
		Heartbeat: rc.Heartbeat,
		MaxTokens: rc.MaxTokens,
		Backoff:   rc.Retries.Backoff,
		exact:     map[string]struct{}{},
		aliases:   rc.Aliases,
		WAF:       rc.WAF,
	}
	pol, err := reasoning.ParsePolicy(rc.Reasoning)
	if err != nil {
		return nil, fmt.Errorf("routes[%d].reasoning: %w", i, err)
	}
	r.Policy = pol
	if rc.PrivateWhen != "" {
		if r.PrivateWhen, err = policy.Compile(rc.PrivateWhen); err != nil {
			return nil, fmt.Errorf("routes[%d].private_when: %w", i, err)
		}
	}
	if r.Name == "" {
		r.Name = fmt.Sprintf("route-%d", i)
	}
	for _, m := range rc.Models {
		if isGlob(m) {
			if _, err := path.Match(m, ""); err != nil {
				return nil, fmt.Errorf("routes[%d].models: bad pattern %q: %w", i, m, err)
			}
			r.globs = append(r.globs, m)
			continue
		}
		r.exact[m] = struct{}{}
		r.listed = append(r.listed, m)
	}
	for alias := range rc.Aliases {
		if _, ok := r.exact[alias]; !ok {
			r.exact[alias] = struct{}{}
			r.listed = append(r.listed, alias)
		}
	}
	for j, tc := range rc.Upstreams {
		c, ok := clients[tc.Upstream]
		if !ok {
			return nil, fmt.Errorf("routes[%d].upstreams[%d]: unknown upstream %q", i, j, tc.Upstream)
		}
		r.Targets = append(r.Targets, Target{Client: c, Model: tc.Model, Priority: tc.Priority, Weight: tc.Weight})
		if tc.Priority != 0 || tc.Weight != 0 {
			r.ordered = true
		}
	}
	r.MaxAttempts = rc.Retries.MaxAttempts
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = min(len(r.Targets), 3)
	}
	return r, nil
}

func isGlob(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			return true
		}
	}
	return false
}

// Match returns the first route that serves model.
func (t *Table) Match(model string) (*Route, bool) {
	for _, r := range t.routes {
		if r.Serves(model) {
			return r, true
		}
	}
	return nil, false
}

// ServesExactly reports whether model is one of r's model names or
// aliases as configured, not a match of a glob.
func (r *Route) ServesExactly(model string) bool {
	_, ok := r.exact[model]
	return ok
}

// Serves reports whether r matches model.
func (r *Route) Serves(model string) bool {
	if _, ok := r.exact[model]; ok {
		return true
	}
	for _, g := range r.globs {
		if ok, _ := path.Match(g, model); ok {
			return true
		}
	}
	return false
}

// Models lists the exact model names (and aliases) the table serves, for
// GET /v1/models. Glob patterns are not listed.
func (t *Table) Models() []string { return t.models }

// Routes returns the routes in order.
func (t *Table) Routes() []*Route { return t.routes }

// UpstreamModel is the model name to send to target for a request that
// asked for model.
func (r *Route) UpstreamModel(model string, tgt Target) string {
	if tgt.Model != "" {
		return tgt.Model
	}
	if a, ok := r.aliases[model]; ok {
		return a
	}
	return model
}

// Allowed reports whether model matches one of patterns (exact or glob);
// an empty list allows every model.
func Allowed(patterns []string, model string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == model {
			return true
		}
		if ok, _ := path.Match(p, model); ok {
			return true
		}
	}
	return false
}

// Order returns the targets in the order one request tries them: priority
// groups from the lowest, and within a group a weighted random order (a
// target comes first with probability weight/sum of the group). rnd returns
// a number in [0, 1). Without priorities or weights it returns the listed
// order, without allocating.
func (r *Route) Order(rnd func() float64) []Target {
	if !r.ordered {
		return r.Targets
	}
	out := append([]Target(nil), r.Targets...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Priority < out[j].Priority })
	for start := 0; start < len(out); {
		end := start + 1
		for end < len(out) && out[end].Priority == out[start].Priority {
			end++
		}
		weighted(out[start:end], rnd)
		start = end
	}
	return out
}

// weighted reorders g in place: a weighted draw without replacement.
// Targets without weight keep their relative order after the weighted ones.
func weighted(g []Target, rnd func() float64) {
	for i := range g {
		total := 0
		for _, t := range g[i:] {
			total += t.Weight
		}
		if total == 0 {
			return
		}
		x := int(rnd() * float64(total))
		for j := i; j < len(g); j++ {
			if x < g[j].Weight {
				pick := g[j]
				copy(g[i+1:j+1], g[i:j])
				g[i] = pick
				break
			}
			x -= g[j].Weight
		}
	}
}
