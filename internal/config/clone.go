package config

import (
	"maps"
	"slices"
)

// Clone returns a deep copy of c: no pointer, slice or map is shared, so the
// copy can be changed without touching a snapshot in use.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	out := *c
	out.Listen.TLS = cloneServerTLS(c.Listen.TLS)
	out.Listen.TrustedProxies = slices.Clone(c.Listen.TrustedProxies)
	out.Admin.TLS = cloneServerTLS(c.Admin.TLS)
	out.Auth = c.Auth.clone()
	if c.Upstreams != nil {
		out.Upstreams = make(map[string]*Upstream, len(c.Upstreams))
		for name, u := range c.Upstreams {
			out.Upstreams[name] = u.clone()
		}
	}
	if c.Routes != nil {
		out.Routes = make([]*Route, len(c.Routes))
		for i, r := range c.Routes {
			out.Routes[i] = r.clone()
		}
	}
	out.WAF.Exclusions = slices.Clone(c.WAF.Exclusions)
	out.WAF.SetupFiles = slices.Clone(c.WAF.SetupFiles)
	out.WAF.RuleFiles = slices.Clone(c.WAF.RuleFiles)
	return &out
}

func cloneServerTLS(t *ServerTLS) *ServerTLS {
	if t == nil {
		return nil
	}
	out := *t
	return &out
}

func (a Auth) clone() Auth {
	if a.APIKeys != nil {
		on := *a.APIKeys
		a.APIKeys = &on
	}
	if a.StaticKeys != nil {
		keys := make([]StaticKey, len(a.StaticKeys))
		for i, k := range a.StaticKeys {
			k.Models = slices.Clone(k.Models)
			keys[i] = k
		}
		a.StaticKeys = keys
	}
	return a
}

func (u *Upstream) clone() *Upstream {
	if u == nil {
		return nil
	}
	out := *u
	out.Headers = maps.Clone(u.Headers)
	if u.TLS != nil {
		t := *u.TLS
		out.TLS = &t
	}
	return &out
}

func (r *Route) clone() *Route {
	if r == nil {
		return nil
	}
	out := *r
	out.Models = slices.Clone(r.Models)
	out.Aliases = maps.Clone(r.Aliases)
	out.Upstreams = slices.Clone(r.Upstreams)
	return &out
}
