package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// docPaths lists every configuration key as docs/configuration.md writes
// it, with its Go type: maps of structs as NAME, list elements as [].
func docPaths(t reflect.Type, prefix string, out map[string]reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return
	case t.Kind() == reflect.Map && isStruct(t.Elem()):
		docPaths(t.Elem(), prefix+".NAME", out)
		out[prefix+".NAME"] = t.Elem()
	case t.Kind() == reflect.Slice && isStruct(t.Elem()):
		docPaths(t.Elem(), prefix+"[]", out)
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			key := yamlKey(t.Field(i))
			if key == "" {
				continue
			}
			p := key
			if prefix != "" {
				p = prefix + "." + key
			}
			out[p] = t.Field(i).Type
			docPaths(t.Field(i).Type, p, out)
		}
	}
}

func isStruct(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && t != durationType
}

// TestDocsCoverEveryKey keeps docs/configuration.md in step with types.go:
// every key must be documented, every key a table documents must exist, and
// its Type column must match the Go type.
func TestDocsCoverEveryKey(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	paths := map[string]reflect.Type{}
	docPaths(reflect.TypeFor[Config](), "", paths)
	if len(paths) < 60 {
		t.Fatalf("found only %d keys; the walk over types.go is broken", len(paths))
	}
	for p := range paths {
		if !strings.Contains(doc, "`"+p+"`") {
			t.Errorf("docs/configuration.md does not document `%s`", p)
		}
	}
	// admin.tls shares the listener TLS table; accept its keys by that name.
	for p := range paths {
		if rest, ok := strings.CutPrefix(p, "admin.tls."); ok {
			paths["listen.tls."+rest] = paths[p]
		}
	}
	// The Type column must say what the key is, in the words of docTypes
	// and docElems.
	rows := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|([^|\n]*)\\|")
	for _, m := range rows.FindAllStringSubmatch(doc, -1) {
		typ, ok := paths[m[1]]
		if !ok {
			t.Errorf("docs/configuration.md documents `%s`, which types.go does not have", m[1])
			continue
		}
		doc := strings.TrimSpace(m[2])
		if err := docTypeMatches(doc, typ); err != "" {
			t.Errorf("docs/configuration.md: `%s` has Type %q, but %s", m[1], doc, err)
		}
	}
}

// docTypes are the words of the Type column, each with what it requires of
// the Go type after pointers. A value in backticks or quotes (an
// enumeration) is a string.
var docTypes = map[string]func(t reflect.Type) bool{
	"string":     isKind(reflect.String),
	"path":       isKind(reflect.String),
	"URL":        isKind(reflect.String),
	"host:port":  isKind(reflect.String),
	"int":        isInt,
	"integer":    isInt,
	"bytes":      isInt,
	"number":     isFloat,
	"bool":       isKind(reflect.Bool),
	"boolean":    isKind(reflect.Bool),
	"duration":   func(t reflect.Type) bool { return t == durationType },
	"mapping":    func(t reflect.Type) bool { return t.Kind() == reflect.Struct || t.Kind() == reflect.Map },
	"map":        isKind(reflect.Map),
	"list":       isKind(reflect.Slice),
	"list of":    isKind(reflect.Slice),
	"map of":     isKind(reflect.Map),
	"mapping of": func(t reflect.Type) bool { return t.Kind() == reflect.Struct || t.Kind() == reflect.Map },
}

// docElems are the element words after "list of", "map of" or "mapping
// of", with what they require of the element type (or, for a struct, of
// every field).
var docElems = map[string]func(t reflect.Type) bool{
	"mappings":           func(t reflect.Type) bool { return isStruct(t) || deref(t).Kind() == reflect.Map },
	"strings":            isKind(reflect.String),
	"patterns":           isKind(reflect.String),
	"paths":              isKind(reflect.String),
	"CIDRs":              isKind(reflect.String),
	"numbers":            isFloat,
	"lists of strings":   func(t reflect.Type) bool { return t.Kind() == reflect.Slice && isKind(reflect.String)(t.Elem()) },
	"route name to bool": isKind(reflect.Bool),
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func isKind(k reflect.Kind) func(reflect.Type) bool {
	return func(t reflect.Type) bool { return deref(t).Kind() == k && deref(t) != durationType }
}

func isInt(t reflect.Type) bool {
	switch deref(t).Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64:
		return deref(t) != durationType
	}
	return false
}

func isFloat(t reflect.Type) bool {
	k := deref(t).Kind()
	return k == reflect.Float64 || k == reflect.Float32
}

// docTypeMatches checks the Type column's doc against the Go type t; it
// returns what is wrong, or "".
func docTypeMatches(doc string, t reflect.Type) string {
	t = deref(t)
	// "string, secret", "number 0–1", "integer (bytes)": the first words
	// say the type.
	word, _, _ := strings.Cut(doc, ",")
	word, _, _ = strings.Cut(word, " (")
	if w, _, ok := strings.Cut(word, " 0"); ok {
		word = w
	}
	switch {
	case strings.HasPrefix(word, "`") || strings.HasPrefix(word, `"`):
		word = "string"
	case word == "1–4":
		word = "int"
	case strings.HasPrefix(word, "host:port"), word == "CEL expression", word == "DSN":
		word = "string"
	}
	for _, outer := range []string{"list of", "map of", "mapping of"} {
		elem, ok := strings.CutPrefix(word, outer+" ")
		if !ok {
			continue
		}
		if !docTypes[outer](t) {
			return "the key is a " + t.Kind().String()
		}
		check, known := docElems[elem]
		switch {
		case !known:
			return "the element type is not one the test knows"
		case t.Kind() == reflect.Struct:
			for i := range t.NumField() {
				if yamlKey(t.Field(i)) != "" && !check(t.Field(i).Type) {
					return "field " + t.Field(i).Name + " is a " + t.Field(i).Type.String()
				}
			}
		case !check(t.Elem()):
			return "its elements are " + t.Elem().String()
		}
		return ""
	}
	check, known := docTypes[word]
	switch {
	case !known:
		return "the test does not know that type"
	case !check(t):
		return "the key is a " + t.String()
	}
	return ""
}
