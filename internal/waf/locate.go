package waf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// directive is one SecLang directive of a file, possibly continued over
// several lines.
type directive struct {
	line int // first line, from 1
	end  int // byte offset just after its last line
}

// splitDirectives cuts SecLang text into directives the way Coraza's parser
// reads it: lines are trimmed, blank lines and comments skipped, a trailing
// backslash continues a directive and a line ending in a backtick opens a
// block closed by a line starting with one.
func splitDirectives(data []byte) []directive {
	var (
		out       []directive
		line, off int
		start     = -1
		backticks bool
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		line++
		off += len(sc.Bytes())
		if off < len(data) {
			off++ // the newline
		}
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		if start < 0 {
			start = line
		}
		switch {
		case !backticks && l[len(l)-1] == '`':
			backticks = true
		case backticks && l[0] == '`':
			backticks = false
		}
		if backticks || l[len(l)-1] == '\\' {
			continue
		}
		out = append(out, directive{line: start, end: off})
		start = -1
	}
	return out
}

// locate finds which rule file, and which directive in it, makes the
// compilation fail, by compiling ever longer prefixes of the plan. It runs
// only after a failed compilation, at start-up or reload, because Coraza's
// own errors name neither file nor line. It returns cause itself when the
// operator's files are not to blame.
func (p *plan) locate(cause error) error {
	for i := 0; i < len(p.setup)+len(p.rules); i++ {
		// The step between the setup and rule files adds the CRS and the
		// exclusions, which the operator does not write line by line.
		if i == len(p.setup) {
			if _, err := p.compileWith(p.root(nil), p.setup, true, nil); err != nil {
				return cause
			}
		}
		f, setup, rules := p.prefix(i)
		if _, err := p.compileWith(p.root(nil), setup, len(rules) > 0, rules); err != nil {
			return p.locateIn(f, setup, rules, err)
		}
	}
	return cause
}

// prefix returns the i-th operator file and the files loaded up to and
// including it.
func (p *plan) prefix(i int) (ruleFile, []ruleFile, []ruleFile) {
	if i < len(p.setup) {
		return p.setup[i], p.setup[:i+1], nil
	}
	j := i - len(p.setup)
	return p.rules[j], p.setup, p.rules[:j+1]
}

// locateIn bisects the directives of f, the last of the loaded files, for
// the first one whose compilation fails.
func (p *plan) locateIn(f ruleFile, setup, rules []ruleFile, whole error) error {
	ds := splitDirectives(f.data)
	fails := func(n int) error {
		t := ruleFile{path: f.path, data: f.data[:ds[n-1].end]}
		_, err := p.compileWith(p.root(&t), setup, len(rules) > 0, rules)
		return err
	}
	if len(ds) == 0 || fails(len(ds)) == nil {
		return fmt.Errorf("%s:%d: %w", f.path, bytes.Count(f.data, []byte("\n"))+1, trimCause(whole))
	}
	lo, hi := 1, len(ds) // fails(hi) holds; find the smallest such n
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) != nil {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return fmt.Errorf("%s:%d: %w", f.path, ds[lo-1].line, trimCause(fails(lo)))
}

// causePrefixes are the wrappers Coraza puts around a parse error; they say
// nothing the file and line do not.
var causePrefixes = []string{
	"invalid WAF config from file: ",
	"invalid WAF config from string: ",
	"failed to parse string: ",
}

// trimCause shortens a Coraza parse error to its reason.
func trimCause(err error) error {
	msg := err.Error()
	for trimmed := true; trimmed; {
		trimmed = false
		for _, pre := range causePrefixes {
			if m, ok := strings.CutPrefix(msg, pre); ok {
				msg, trimmed = m, true
			}
		}
	}
	return errors.New(msg)
}
