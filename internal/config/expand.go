package config

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// expandTree replaces ${VAR} and ${VAR:-default} in every scalar value of
// the tree (never in mapping keys). It works on parsed nodes, so a variable
// whose value holds ": " or newlines stays one string and cannot add YAML
// structure. Expanded text is not expanded again.
func expandTree(n *yaml.Node, path string, env func(string) (string, bool), errs *Errors) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			expandTree(c, path, env, errs)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			expandTree(n.Content[i+1], joinKey(path, n.Content[i].Value), env, errs)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			expandTree(c, joinIndex(path, i), env, errs)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		v, err := expand(n.Value, env)
		if err != "" {
			errs.add(path, n.Line, err)
			return
		}
		n.Value = v
		// A plain "${X}" was resolved as a string; what it expands to is
		// typed by the field it lands in, so the tag no longer matters.
		if n.Tag == "!!null" {
			n.Tag = "!!str"
		}
	}
}

// expand substitutes variables in s. It returns a message instead of an
// error so that the caller can attach the field path and line.
func expand(s string, env func(string) (string, bool)) (string, string) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			// A lone "$" (as in a password) is kept as it is.
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", "unterminated ${ in value (write $$ for a literal $)"
		}
		v, msg := lookup(s[i+2:i+2+end], env)
		if msg != "" {
			return "", msg
		}
		b.WriteString(v)
		i += 2 + end
	}
	return b.String(), ""
}

// lookup resolves the inside of one ${...}: NAME or NAME:-default. As in the
// shell, the default applies when the variable is unset or empty.
func lookup(expr string, env func(string) (string, bool)) (string, string) {
	name, def, hasDef := strings.Cut(expr, ":-")
	if !validEnvName(name) {
		return "", "invalid environment variable name " + strconv.Quote(name) + " in ${...}"
	}
	v, ok := env(name)
	if hasDef && v == "" {
		return def, ""
	}
	if !ok {
		return "", "environment variable " + name + " is not set (use ${" + name + ":-default} to give a default)"
	}
	return v, ""
}

// validEnvName reports whether name is a portable environment variable name.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
