package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFileBytes caps the size of a configuration file. Real files are a few
// kilobytes; the cap keeps a wrong path (a log, a device) from being read
// whole.
const MaxFileBytes = 4 << 20

// Load reads the configuration file at path, expands ${ENV} from the process
// environment, decodes it strictly, sets defaults, validates it and checks
// that the files it names exist. Problems come back as *Errors, all at once:
// a missing file is reported together with the other problems.
func Load(path string) (*Config, error) {
	return load(path, false)
}

// Check is Load plus the checks `rampart serve` makes only when it builds
// its stages: when the WAF is on (waf.enabled, or a route turning it on) it
// compiles the Core Rule Set with waf.setup_files and waf.rule_files, so
// that a SecLang error is reported with the others. Compiling takes a
// fraction of a second of CPU, which `rampart check` can afford and a
// start-up or reload, which compiles the rules anyway, need not pay twice.
func Check(path string) (*Config, error) {
	return load(path, true)
}

func load(path string, compile bool) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, lines, errs := parse(data, path, os.LookupEnv)
	if c == nil {
		return nil, errs
	}
	// Files are checked whatever else is wrong, so that one run reports
	// every problem; decoding left unusable values empty.
	if ferr := c.CheckFiles(); ferr != nil {
		mergeValidation(errs, ferr.(*Errors), lines)
	}
	if compile && !hasProblemIn(errs, "waf") {
		if werr := c.compileWAF(); werr != nil {
			mergeValidation(errs, werr, lines)
		}
	}
	if len(errs.List) > 0 {
		errs.sortByLine()
		return nil, errs
	}
	return c, nil
}

// readFile reads at most MaxFileBytes of path.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("read config %s: larger than %d bytes", path, MaxFileBytes)
	}
	return data, nil
}

// Parse is Load without the file system: it decodes data (named name in
// messages), expanding ${VAR} through env, then sets defaults and validates.
// It never reads files or the process environment itself.
func Parse(data []byte, name string, env func(string) (string, bool)) (*Config, error) {
	c, _, errs := parse(data, name, env)
	if len(errs.List) > 0 {
		errs.sortByLine()
		return nil, errs
	}
	return c, nil
}

// parse decodes, defaults and validates data. It returns the configuration
// as far as it could be decoded, or nil when the document has no usable
// mapping, with every problem found and the line of every field path read,
// so that Load can place the problems CheckFiles finds. The problems are
// not sorted yet.
func parse(data []byte, name string, env func(string) (string, bool)) (*Config, map[string]int, *Errors) {
	errs := &Errors{File: name}
	root := parseDocument(data, errs)
	if root == nil {
		return nil, nil, errs
	}
	expandTree(root, "", env, errs)
	c := &Config{}
	d := &decoder{errs: errs, lines: make(map[string]int), budget: maxNodeVisits}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	c.SetDefaults()
	if verr := c.Validate(); verr != nil {
		mergeValidation(errs, verr.(*Errors), d.lines)
	}
	return c, d.lines, errs
}

// hasProblemIn reports whether errs holds a problem in the section.
func hasProblemIn(errs *Errors, section string) bool {
	for _, fe := range errs.List {
		if fe.Path == section || strings.HasPrefix(fe.Path, section+".") || strings.HasPrefix(fe.Path, section+"[") {
			return true
		}
	}
	return false
}

// parseDocument parses exactly one YAML document and returns its top-level
// mapping, or nil after recording why there is none.
func parseDocument(data []byte, errs *Errors) *yaml.Node {
	if len(data) > MaxFileBytes {
		errs.add("", 0, "configuration larger than "+strconv.Itoa(MaxFileBytes)+" bytes")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.add("", 0, "empty configuration")
		} else {
			addSyntaxError(errs, err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		errs.add("", next.Line, "more than one YAML document (remove the \"---\" separator)")
		return nil
	case !errors.Is(err, io.EOF):
		addSyntaxError(errs, err)
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		errs.add("", root.Line, "empty configuration")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		errs.add("", root.Line, "the configuration must be a mapping of sections such as listen, upstreams and routes")
		return nil
	}
	return root
}

// syntaxLine finds the line number yaml.v3 puts in its messages.
var syntaxLine = regexp.MustCompile(`^line (\d+): `)

// addSyntaxError records a YAML syntax error at its line.
func addSyntaxError(errs *Errors, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	errs.add("", line, "invalid YAML: "+msg)
}

// mergeValidation adds validation problems to the decoding ones, with the
// line of the field or of its closest enclosing block. A field that already
// has a decoding problem is not reported twice.
func mergeValidation(errs, verr *Errors, lines map[string]int) {
	bad := make(map[string]bool, len(errs.List))
	for _, fe := range errs.List {
		bad[fe.Path] = true
	}
	for _, fe := range verr.List {
		if bad[fe.Path] {
			continue
		}
		fe.Line = lineOf(fe.Path, lines)
		errs.add(fe.Path, fe.Line, fe.Msg)
	}
}

// lineOf returns the line of path or of its nearest ancestor that has one.
func lineOf(path string, lines map[string]int) int {
	for i := 0; i < 32 && path != ""; i++ {
		if l, ok := lines[path]; ok && l > 0 {
			return l
		}
		path = parentPath(path)
	}
	return 0
}
