package config

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxNodeVisits bounds the work of decoding one file. Aliases and merge keys
// can make a small file describe an exponential tree; a real configuration
// visits a few hundred nodes.
const maxNodeVisits = 50_000

var (
	durationType = reflect.TypeFor[time.Duration]()
	targetType   = reflect.TypeFor[Target]()
)

// decoder fills Go values from a yaml.Node tree, strictly: unknown keys,
// duplicate keys and wrong types are problems with a path and a line. It
// carries on after a problem so that one run reports all of them.
type decoder struct {
	errs  *Errors
	lines map[string]int
	// budget is the number of node visits left; see maxNodeVisits.
	budget int
	// mergeDepth counts nested "<<" merges; an anchor can merge itself.
	mergeDepth int
}

// spend takes one visit from the budget and reports whether work may go on.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	d.budget--
	if d.budget == 0 {
		d.errs.add(path, n.Line, "document too complex: too many nodes after expanding aliases")
	}
	return d.budget > 0
}

// resolve follows alias nodes to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < 64 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

// decode fills v from n; path and line locate v in messages.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolve(n)
	if !d.spend(n, path) {
		return
	}
	if _, ok := d.lines[path]; !ok {
		d.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		// An empty value means "use the default", as the zero value does.
		return
	}
	switch t := v.Type(); {
	case t == durationType:
		d.duration(n, v, path)
	case t == targetType:
		d.target(n, v, path)
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case t.Kind() == reflect.Struct:
		d.structure(n, v, path)
	case t.Kind() == reflect.Map:
		d.mapping(n, v, path)
	case t.Kind() == reflect.Slice:
		d.sequence(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

// kindName names a node kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// mismatch records a wrong-type problem.
func (d *decoder) mismatch(n *yaml.Node, path, want string) {
	d.errs.add(path, n.Line, "expected "+want+", got "+kindName(n))
}

// structure decodes a mapping into a struct, by yaml tags.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.mismatch(n, path, "a mapping")
		return
	}
	t := v.Type()
	for _, p := range d.pairs(n, path) {
		child := joinKey(path, p.key.Value)
		i := fieldIndex(t, p.key.Value)
		if i < 0 {
			d.errs.add(child, p.key.Line, "unknown field"+suggest(p.key.Value, fieldNames(t)))
			continue
		}
		d.lines[child] = p.key.Line
		d.decode(p.val, v.Field(i), child)
	}
}

// mapping decodes a mapping with string keys into a Go map.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.mismatch(n, path, "a mapping")
		return
	}
	t := v.Type()
	entries := d.pairs(n, path)
	// An empty mapping stays nil, so that "{}" and no key mean the same.
	if v.IsNil() && len(entries) > 0 {
		v.Set(reflect.MakeMapWithSize(t, len(entries)))
	}
	for _, p := range entries {
		child := joinKey(path, p.key.Value)
		d.lines[child] = p.key.Line
		elem := reflect.New(t.Elem()).Elem()
		if t.Elem().Kind() == reflect.Pointer {
			// An entry with no body ("name:") still exists, so that
			// validation can say what it lacks.
			elem.Set(reflect.New(t.Elem().Elem()))
		}
		d.decode(p.val, elem, child)
		v.SetMapIndex(reflect.ValueOf(p.key.Value), elem)
	}
}

// sequence decodes a list into a slice.
func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.mismatch(n, path, "a list")
		return
	}
	if len(n.Content) == 0 {
		// An empty list stays nil, so that "[]" and no key mean the same.
		v.SetZero()
		return
	}
	t := v.Type()
	s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
	for i, c := range n.Content {
		elem := s.Index(i)
		if t.Elem().Kind() == reflect.Pointer {
			elem.Set(reflect.New(t.Elem().Elem()))
		}
		d.decode(c, elem, joinIndex(path, i))
	}
	v.Set(s)
}

// scalar decodes strings, booleans and integers.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.mismatch(n, path, "a single value")
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := parseBool(n.Value)
		if !ok {
			d.mismatch(n, path, "true or false")
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, v.Type().Bits())
		if err != nil {
			d.mismatch(n, path, "a whole number")
			return
		}
		v.SetInt(i)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(n.Value, v.Type().Bits())
		if err != nil {
			d.mismatch(n, path, "a number")
			return
		}
		v.SetFloat(f)
	default:
		d.errs.add(path, n.Line, "cannot decode into "+v.Type().String())
	}
}

// parseBool accepts the YAML 1.2 spellings of a boolean.
func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// duration decodes a Go duration string such as "10s" or "5m". A bare
// number is refused: "30" could mean seconds or milliseconds.
func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.mismatch(n, path, `a duration such as "10s"`)
		return
	}
	if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
		d.errs.add(path, n.Line, "duration "+n.Value+" has no unit: add one, such as \""+n.Value+"s\" or \""+n.Value+"ms\"")
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.errs.add(path, n.Line, "invalid duration "+strconv.Quote(n.Value)+`: use a Go duration such as "10s", "1m30s" or "500ms"`)
		return
	}
	v.SetInt(int64(dur))
}

// target decodes a route target from an upstream name or a mapping.
func (d *decoder) target(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode {
		v.Set(reflect.ValueOf(Target{Upstream: n.Value}))
		return
	}
	if n.Kind != yaml.MappingNode {
		d.mismatch(n, path, "an upstream name or a mapping {upstream, model}")
		return
	}
	d.structure(n, v, path)
}

// fieldIndex returns the index of the struct field with yaml key name, or -1.
func fieldIndex(t reflect.Type, name string) int {
	for i := range t.NumField() {
		if yamlKey(t.Field(i)) == name {
			return i
		}
	}
	return -1
}

// fieldNames lists the yaml keys of a struct, for suggestions.
func fieldNames(t reflect.Type) []string {
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if k := yamlKey(t.Field(i)); k != "" {
			names = append(names, k)
		}
	}
	return names
}

// yamlKey returns the yaml key of a field, or "" for fields not in the file.
func yamlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if k == "-" {
		return ""
	}
	return k
}
