package waf

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
)

// crsNames are the names the embedded Core Rule Set answers to. Coraza joins
// an included name to the directory of the including file, so a name is
// routed to the embedded rules when it contains one of these anywhere.
var crsNames = []string{"@owasp_crs/", "@crs-setup.conf", "@coraza.conf"}

// rulesFS is the root file system of the rule parser: the embedded Core Rule
// Set for its @-names, the operating system for the operator's rule files.
// overrides replaces the content of some files; it is used only to compile a
// prefix of a file when locating a SecLang error.
type rulesFS struct {
	overrides map[string][]byte
}

func crsName(name string) (string, bool) {
	for _, n := range crsNames {
		if i := strings.Index(name, n); i >= 0 {
			return name[i:], true
		}
	}
	return "", false
}

// Open opens a file of the embedded rules or of the operating system.
func (r rulesFS) Open(name string) (fs.File, error) {
	if n, ok := crsName(name); ok {
		return coreruleset.FS.Open(n)
	}
	return os.Open(name)
}

// ReadFile reads a whole file, honouring overrides.
func (r rulesFS) ReadFile(name string) ([]byte, error) {
	if n, ok := crsName(name); ok {
		return fs.ReadFile(coreruleset.FS, n)
	}
	if b, ok := r.overrides[name]; ok {
		return b, nil
	}
	return os.ReadFile(name)
}

// Glob expands a pattern in the embedded rules or on the operating system.
func (r rulesFS) Glob(pattern string) ([]string, error) {
	if n, ok := crsName(pattern); ok {
		return fs.Glob(coreruleset.FS, n)
	}
	return filepath.Glob(pattern)
}

var (
	_ fs.ReadFileFS = rulesFS{}
	_ fs.GlobFS     = rulesFS{}
)
