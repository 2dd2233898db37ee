package policy

import (
	"net/http"
	"net/textproto"
	"reflect"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
)

// privateVars resolves principal, request and headers of an Input on
// demand, so that an expression pays only for the fields it reads.
type privateVars struct {
	in *Input
}

// ResolveName implements interpreter.Activation.
func (a *privateVars) ResolveName(name string) (any, bool) {
	switch name {
	case "principal":
		return &lazyMap{f: principalFields{a.in}}, true
	case "request":
		return &lazyMap{f: requestFields{a.in}}, true
	case "headers":
		if a.in.Headers != nil {
			return types.NewStringStringMap(types.DefaultTypeAdapter, a.in.Headers), true
		}
		return &lazyMap{f: headerFields{a.in.Header}}, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *privateVars) Parent() interpreter.Activation { return nil }

// fields is a map with string keys whose values are computed on lookup.
type fields interface {
	find(key string) (ref.Val, bool)
	keys() []string
}

// lazyMap is a CEL map(string, dyn) over fields. Lookups, `in` and size()
// read the fields directly; anything else (iteration, equality,
// conversion) works on a map built in full.
type lazyMap struct {
	f    fields
	full traits.Mapper
}

var _ traits.Mapper = (*lazyMap)(nil)

func (m *lazyMap) materialize() traits.Mapper {
	if m.full == nil {
		all := map[string]any{}
		for _, k := range m.f.keys() {
			if v, ok := m.f.find(k); ok {
				all[k] = v
			}
		}
		m.full = types.NewStringInterfaceMap(types.DefaultTypeAdapter, all)
	}
	return m.full
}

func (m *lazyMap) ConvertToNative(t reflect.Type) (any, error) {
	return m.materialize().ConvertToNative(t)
}

func (m *lazyMap) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return m
	case types.TypeType:
		return types.MapType
	}
	return m.materialize().ConvertToType(t)
}

func (m *lazyMap) Equal(other ref.Val) ref.Val { return m.materialize().Equal(other) }
func (m *lazyMap) Type() ref.Type              { return types.MapType }
func (m *lazyMap) Value() any                  { return m.materialize().Value() }
func (m *lazyMap) Iterator() traits.Iterator   { return m.materialize().Iterator() }
func (m *lazyMap) Size() ref.Val               { return types.Int(len(m.f.keys())) }

func (m *lazyMap) Contains(key ref.Val) ref.Val {
	_, found := m.Find(key)
	return types.Bool(found)
}

func (m *lazyMap) Get(key ref.Val) ref.Val {
	v, found := m.Find(key)
	if !found {
		return types.ValOrErr(v, "no such key: %v", key)
	}
	return v
}

func (m *lazyMap) Find(key ref.Val) (ref.Val, bool) {
	if k, ok := key.(types.String); ok {
		return m.f.find(string(k))
	}
	return m.materialize().Find(key)
}

var emptyList = types.NewStringList(types.DefaultTypeAdapter, nil)

func stringList(s []string) ref.Val {
	if len(s) == 0 {
		return emptyList
	}
	return types.NewStringList(types.DefaultTypeAdapter, s)
}

// principalFields: kind, id, name, team, scopes.
type principalFields struct{ in *Input }

var principalKeys = []string{"kind", "id", "name", "team", "scopes"}

func (f principalFields) keys() []string { return principalKeys }

func (f principalFields) find(key string) (ref.Val, bool) {
	p := &f.in.Principal
	switch key {
	case "kind":
		return types.String(p.Kind), true
	case "id":
		return types.String(p.ID), true
	case "name":
		return types.String(p.Name), true
	case "team":
		return types.String(p.Team), true
	case "scopes":
		return stringList(p.Scopes), true
	}
	return nil, false
}

// requestFields: model, stream, max_tokens, tools, dlp, guards.
type requestFields struct{ in *Input }

var requestKeys = []string{"model", "stream", "max_tokens", "tools", "dlp", "guards"}

func (f requestFields) keys() []string { return requestKeys }

func (f requestFields) find(key string) (ref.Val, bool) {
	in := f.in
	switch key {
	case "model":
		return types.String(in.Model), true
	case "stream":
		return types.Bool(in.Stream), true
	case "max_tokens":
		return types.Int(in.MaxTokens), true
	case "tools":
		return types.Bool(in.Tools), true
	case "dlp":
		return &lazyMap{f: verdictFields{in: in, key: "findings", dlp: true}}, true
	case "guards":
		return &lazyMap{f: verdictFields{in: in, key: "verdicts"}}, true
	}
	return nil, false
}

// verdictFields is request.dlp (findings: the entity types found) or
// request.guards (verdicts: the guard and WAF rules that did not pass).
type verdictFields struct {
	in  *Input
	key string
	dlp bool
}

func (f verdictFields) keys() []string { return []string{f.key} }

func (f verdictFields) find(key string) (ref.Val, bool) {
	if key != f.key {
		return nil, false
	}
	var out []string
	for _, v := range f.in.Verdicts {
		switch {
		case f.dlp && v.Stage == "dlp":
			out = append(out, v.Rule)
		case !f.dlp && (v.Stage == "guard" || v.Stage == "waf") && v.Action != "pass":
			out = append(out, v.Rule)
		}
	}
	return stringList(out), true
}

// headerFields shows a request's header by lower-case name, first value,
// without Authorization.
type headerFields struct{ h http.Header }

func (f headerFields) keys() []string {
	out := make([]string, 0, len(f.h))
	for k, v := range f.h {
		if len(v) > 0 && k != "Authorization" {
			out = append(out, lower(k))
		}
	}
	return out
}

func (f headerFields) find(key string) (ref.Val, bool) {
	if lower(key) != key || key == "authorization" {
		return nil, false
	}
	v := f.h[textproto.CanonicalMIMEHeaderKey(key)]
	if len(v) == 0 {
		return nil, false
	}
	return types.String(v[0]), true
}

// lower lower-cases ASCII letters, without allocating when s already is.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
