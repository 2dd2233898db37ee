package config

import (
	"maps"
	"os"
	"slices"
)

// CheckFiles checks that every file the configuration names (certificates,
// keys, CA bundles, and the WAF's setup and rule files when the WAF is on)
// exists and is a regular file. Relative paths are taken from the working
// directory, as the server opens them. It is kept out of Validate so that
// Validate stays pure; Load calls both.
func (c *Config) CheckFiles() error {
	errs := &Errors{}
	checkServerTLSFiles(errs, "listen.tls", c.Listen.TLS)
	checkServerTLSFiles(errs, "admin.tls", c.Admin.TLS)
	if c.WAFWanted() {
		for i, f := range c.WAF.SetupFiles {
			checkFile(errs, joinIndex("waf.setup_files", i), f)
		}
		for i, f := range c.WAF.RuleFiles {
			checkFile(errs, joinIndex("waf.rule_files", i), f)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Upstreams)) {
		u := c.Upstreams[name]
		if u == nil || u.TLS == nil {
			continue
		}
		p := joinKey("upstreams", name) + ".tls"
		checkFile(errs, p+".ca_file", u.TLS.CAFile)
		checkFile(errs, p+".cert_file", u.TLS.CertFile)
		checkFile(errs, p+".key_file", u.TLS.KeyFile)
	}
	return errs.err()
}

func checkServerTLSFiles(errs *Errors, p string, t *ServerTLS) {
	if t == nil {
		return
	}
	checkFile(errs, p+".cert_file", t.CertFile)
	checkFile(errs, p+".key_file", t.KeyFile)
	checkFile(errs, p+".client_ca_file", t.ClientCAFile)
}

// checkFile records a problem when name is set but is not a readable
// regular file.
func checkFile(errs *Errors, p, name string) {
	if name == "" {
		return
	}
	st, err := os.Stat(name)
	switch {
	case err != nil:
		errs.add(p, 0, "cannot use file: "+err.Error())
	case !st.Mode().IsRegular():
		errs.add(p, 0, "not a regular file: "+name)
	}
}
