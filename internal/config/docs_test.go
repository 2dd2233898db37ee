package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// docPaths lists every configuration key as docs/configuration.md writes
// it: maps of structs as NAME, list elements as [].
func docPaths(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return
	case t.Kind() == reflect.Map && isStruct(t.Elem()):
		docPaths(t.Elem(), prefix+".NAME", out)
		out[prefix+".NAME"] = true
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
			out[p] = true
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
// every key must be documented, and every key a table documents must exist.
func TestDocsCoverEveryKey(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	paths := map[string]bool{}
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
			paths["listen.tls."+rest] = true
		}
	}
	rows := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")
	for _, m := range rows.FindAllStringSubmatch(doc, -1) {
		if !paths[m[1]] {
			t.Errorf("docs/configuration.md documents `%s`, which types.go does not have", m[1])
		}
	}
}
