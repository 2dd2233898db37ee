package config

import (
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/rampart-gw/rampart/internal/waf"
)

// WAFWanted reports whether the server compiles the WAF rules: when the
// section or any route turns the WAF on.
func (c *Config) WAFWanted() bool {
	if c.WAF.Enabled {
		return true
	}
	for _, r := range c.Routes {
		if r != nil && r.WAF.Enabled != nil && *r.WAF.Enabled {
			return true
		}
	}
	return false
}

// compileWAF compiles the WAF rules as the server would, when it would,
// and returns the problem placed at the setup or rule file to blame, or at
// waf when no operator file is.
func (c *Config) compileWAF() *Errors {
	if !c.WAFWanted() {
		return nil
	}
	cfg := c.WAF
	cfg.Enabled = true
	w, err := waf.New(cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		w.Close()
		return nil
	}
	errs := &Errors{}
	errs.add(wafErrorPath(cfg, strings.TrimPrefix(err.Error(), "waf: ")))
	return errs
}

// wafErrorPath finds the field a WAF compilation error is about, and the
// message to show there. The waf package names a file it could not read by
// its field ("rule_files[0]: …") and a SecLang error by the file's absolute
// path and line, which the message keeps.
func wafErrorPath(cfg waf.Config, msg string) (string, int, string) {
	for _, field := range []struct {
		name  string
		files []string
	}{{"setup_files", cfg.SetupFiles}, {"rule_files", cfg.RuleFiles}} {
		for i, f := range field.files {
			p := joinIndex(field.name, i)
			if rest, ok := strings.CutPrefix(msg, p+": "); ok {
				return "waf." + p, 0, rest
			}
			if abs, err := filepath.Abs(f); err == nil && strings.HasPrefix(msg, abs+":") {
				return "waf." + p, 0, msg
			}
		}
	}
	return "waf", 0, msg
}
