package config

import (
	"reflect"

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
	out.Authz = c.Authz.clone()
	out.Audit = c.Audit.clone()
	out.Telemetry = c.Telemetry.clone()
	out.Alerts = c.Alerts.clone()
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
	// The stage sections belong to their packages: copy them by reflection
	// so that Clone stays deep whatever fields they grow.
	deepCopy(reflect.ValueOf(&out.Guards).Elem(), reflect.ValueOf(c.Guards))
	deepCopy(reflect.ValueOf(&out.DLP).Elem(), reflect.ValueOf(c.DLP))
	deepCopy(reflect.ValueOf(&out.Limits).Elem(), reflect.ValueOf(c.Limits))
	out.KillTriggers = slices.Clone(c.KillTriggers)
	out.Killed = slices.Clone(c.Killed)
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
	a.Methods = slices.Clone(a.Methods)
	if a.JWT != nil {
		iss := make([]JWTIssuer, len(a.JWT))
		for i, j := range a.JWT {
			j.Audiences = slices.Clone(j.Audiences)
			j.Algorithms = slices.Clone(j.Algorithms)
			iss[i] = j
		}
		a.JWT = iss
	}
	if a.Introspection != nil {
		in := *a.Introspection
		a.Introspection = &in
	}
	if a.MTLS != nil {
		m := *a.MTLS
		a.MTLS = &m
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
	if r.WAF.Enabled != nil {
		on := *r.WAF.Enabled
		out.WAF.Enabled = &on
	}
	return &out
}

// deepCopy sets dst to a deep copy of src: pointers, slices and maps are
// copied, nil stays nil and empty stays empty. Functions are shared.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		p := reflect.New(src.Elem().Type())
		deepCopy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Slice:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			v := reflect.New(it.Value().Type()).Elem()
			deepCopy(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	case reflect.Struct:
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}
