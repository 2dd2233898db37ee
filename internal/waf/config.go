package waf

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Modes of the WAF.
const (
	// ModeBlock enforces interruptions: a request over the anomaly
	// threshold is blocked.
	ModeBlock = "block"
	// ModeDetect runs every rule and reports what would have been blocked
	// without blocking anything.
	ModeDetect = "detect"
)

// Body scopes: how much of a request body the rules see.
const (
	// ScopeEnvelope inspects a JSON body without its message contents.
	ScopeEnvelope = "envelope"
	// ScopeFull inspects the raw body as sent.
	ScopeFull = "full"
	// ScopeNone inspects no body at all.
	ScopeNone = "none"
)

// Defaults of Config.
const (
	DefaultParanoia         = 1
	DefaultInboundThreshold = 5
	DefaultBodyLimit        = 1 << 20
	maxBodyLimit            = 64 << 20
)

// Config is the `waf:` section of the configuration: the OWASP Core Rule Set
// run by Coraza in front of authentication.
type Config struct {
	// Enabled turns the WAF on. Default: false (off). When off, Inspect
	// passes every request without work.
	Enabled bool `yaml:"enabled"`
	// Mode is "block" (default) or "detect". In detect mode every rule runs
	// and the verdict reports what would have been blocked, but nothing is
	// blocked and internal errors do not fail closed: use it to tune
	// exclusions before enforcing.
	Mode string `yaml:"mode"`
	// Paranoia is the CRS paranoia level, 1 to 4. Default: 1. Each level
	// adds rules: more attacks caught, many more false positives on prose.
	Paranoia int `yaml:"paranoia"`
	// InboundThreshold is the CRS inbound anomaly score at which a request
	// is blocked. Default: 5 (one critical match). Raising it lets more
	// suspicious requests through; lowering it blocks on warnings.
	InboundThreshold int `yaml:"inbound_threshold"`
	// Exclusions remove CRS rules for every request: a rule ID ("920350"),
	// an ID range ("942100-942199") or a tag ("tag:attack-sqli"). Default:
	// none. Each exclusion is a hole in the rule set; prefer the narrowest.
	Exclusions []string `yaml:"exclusions"`
	// AllFamilies loads every CRS rule family. Default: false, which
	// leaves out the PHP (933), Java (944) and session-fixation (943)
	// families: no PHP or Java interpreter and no session cookie is on the
	// path of an LLM API request, and they cost about a fifth of the CPU of
	// the stage. Set it when an upstream is such an application.
	AllFamilies bool `yaml:"all_families"`
	// SetupFiles are SecLang files loaded after the generated CRS setup and
	// before the CRS rules: CRS variables (setvar:tx.*), runtime exclusions
	// (ctl:ruleRemoveById) and custom rules that must run first. Default:
	// none. Errors are reported with file and line at start-up.
	SetupFiles []string `yaml:"setup_files"`
	// RuleFiles are SecLang files loaded after the CRS rules: custom rules
	// and configure-time exclusions (SecRuleRemoveById,
	// SecRuleUpdateTargetById). Default: none. Errors are reported with file
	// and line at start-up.
	RuleFiles []string `yaml:"rule_files"`
	// InspectBody is how much of a request body the rules see: "envelope"
	// (default) is the JSON request without message contents, prompts,
	// inputs and tool descriptions (see Envelope), because prose
	// legitimately contains SQL, shell and HTML and is left to the prompt
	// guards and DLP; "full" is the raw body (far more false positives and
	// 15-100 times the CPU); "none" skips the body.
	InspectBody string `yaml:"inspect_body"`
	// BodyLimit caps, in bytes, the body handed to the rules (the envelope
	// or the raw body). Default: 1048576 (1 MiB). A larger body is rejected
	// with 413 in block mode rather than inspected in part, so padding
	// cannot hide an attack; raise it for full-body routes with large
	// payloads, at a cost in CPU.
	BodyLimit int `yaml:"body_limit"`
}

// SetDefaults fills every zero field with its default.
func (c *Config) SetDefaults() {
	if c.Mode == "" {
		c.Mode = ModeBlock
	}
	if c.Paranoia == 0 {
		c.Paranoia = DefaultParanoia
	}
	if c.InboundThreshold == 0 {
		c.InboundThreshold = DefaultInboundThreshold
	}
	if c.InspectBody == "" {
		c.InspectBody = ScopeEnvelope
	}
	if c.BodyLimit == 0 {
		c.BodyLimit = DefaultBodyLimit
	}
}

// Validate reports every problem of a defaulted Config at once, each with
// the name of its field. It does not read the rule files.
func (c *Config) Validate() error {
	var errs []error
	if c.Mode != ModeBlock && c.Mode != ModeDetect {
		errs = append(errs, fmt.Errorf("mode: %q is not block or detect", c.Mode))
	}
	if c.Paranoia < 1 || c.Paranoia > 4 {
		errs = append(errs, fmt.Errorf("paranoia: %d is not between 1 and 4", c.Paranoia))
	}
	if c.InboundThreshold < 1 {
		errs = append(errs, fmt.Errorf("inbound_threshold: %d is not positive", c.InboundThreshold))
	}
	if !validScope(c.InspectBody) {
		errs = append(errs, fmt.Errorf("inspect_body: %q is not envelope, full or none", c.InspectBody))
	}
	if c.BodyLimit < 1 || c.BodyLimit > maxBodyLimit {
		errs = append(errs, fmt.Errorf("body_limit: %d is not between 1 and %d", c.BodyLimit, maxBodyLimit))
	}
	for i, e := range c.Exclusions {
		if _, err := exclusionDirective(e); err != nil {
			errs = append(errs, fmt.Errorf("exclusions[%d]: %w", i, err))
		}
	}
	errs = append(errs, validatePaths("setup_files", c.SetupFiles)...)
	errs = append(errs, validatePaths("rule_files", c.RuleFiles)...)
	return errors.Join(errs...)
}

func validScope(s string) bool {
	return s == ScopeEnvelope || s == ScopeFull || s == ScopeNone
}

func validatePaths(field string, paths []string) []error {
	var errs []error
	for i, p := range paths {
		if strings.TrimSpace(p) == "" || strings.ContainsAny(p, "\n\r\"*") {
			errs = append(errs, fmt.Errorf("%s[%d]: %q is not a file path", field, i, p))
		}
	}
	return errs
}

// tagPattern keeps a tag exclusion to one SecLang token, so a configuration
// value can never inject a directive.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_./:-]+$`)

// exclusionDirective turns one Exclusions entry into its SecLang directive.
func exclusionDirective(e string) (string, error) {
	if tag, ok := strings.CutPrefix(e, "tag:"); ok {
		if !tagPattern.MatchString(tag) {
			return "", fmt.Errorf("tag %q has characters outside [A-Za-z0-9_./:-]", tag)
		}
		return "SecRuleRemoveByTag " + tag, nil
	}
	lo, hi, isRange := strings.Cut(e, "-")
	if !isRuleID(lo) || (isRange && !isRuleID(hi)) {
		return "", fmt.Errorf("%q is not a rule ID, an ID range or tag:<name>", e)
	}
	if isRange && mustAtoi(lo) > mustAtoi(hi) {
		return "", fmt.Errorf("range %q is reversed", e)
	}
	return "SecRuleRemoveById " + e, nil
}

func isRuleID(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && s[0] != '+' && s[0] != '0'
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// RouteConfig is a route's `waf:` section: the WAF on or off for the route
// and its body scope. Unset fields follow the `waf:` section.
type RouteConfig struct {
	// Enabled turns the WAF on (true) or off (false) for the route.
	// Default: unset, which follows waf.enabled. A route may turn the WAF
	// on while waf.enabled is false: the rules are compiled with the
	// settings of the `waf:` section.
	Enabled *bool `yaml:"enabled"`
	// InspectBody overrides waf.inspect_body for the route: "full" opts
	// in to full-body inspection (prompts included: far more false
	// positives and CPU), "none" out of body inspection. Default: unset,
	// which follows waf.inspect_body.
	InspectBody string `yaml:"inspect_body"`
}

// Validate reports a scope that is not envelope, full or none, naming the
// field.
func (rc RouteConfig) Validate() error {
	if rc.InspectBody != "" && !validScope(rc.InspectBody) {
		return fmt.Errorf("inspect_body: %q is not envelope, full or none", rc.InspectBody)
	}
	return nil
}

// Resolve returns whether the WAF runs for the route and with which body
// scope, given the `waf:` section's enabled flag and scope.
func (rc RouteConfig) Resolve(enabled bool, scope string) (bool, string) {
	if rc.Enabled != nil {
		enabled = *rc.Enabled
	}
	if rc.InspectBody != "" {
		scope = rc.InspectBody
	}
	return enabled, scope
}
