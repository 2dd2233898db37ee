package dlp

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Action is what happens to a finding.
type Action string

// Actions, from the least to the most intrusive on the text. Block refuses
// the whole request (400) or ends the response; the error names the entity
// type, never the value.
const (
	ActionAllow        Action = "allow"        // not reported, not changed
	ActionLog          Action = "log"          // reported in the record, text unchanged
	ActionRedact       Action = "redact"       // replaced by a label: [EMAIL]
	ActionMask         Action = "mask"         // partly hidden: j***@a***.com, ************1234
	ActionHash         Action = "hash"         // replaced by a keyed HMAC, stable per key: [EMAIL:4f1c2a9b0e7d]
	ActionPseudonymize Action = "pseudonymize" // replaced by a placeholder restored in the response: <EMAIL_1>
	ActionBlock        Action = "block"        // refuse
)

// Direction says whether text goes to the model (request) or comes from it.
type Direction int

// Directions.
const (
	Request Direction = iota
	Response
)

// DefaultHoldBack is the default streaming hold-back in bytes: no built-in
// detector needs a longer window, except private keys, which the stream
// follows to their END line (see StreamMasker).
const DefaultHoldBack = 256

// DefaultMaxHoldBack is the default cap on the hold-back for a long
// credential still arriving (see Config.MaxHoldBack): the longest built-in
// token formats are JWTs and 1Password tokens of a few KB.
const DefaultMaxHoldBack = 8 << 10

// Default confidences of configured detectors, reported when a detector
// sets no score of its own.
const (
	DefaultCustomScore = 0.8
	DefaultTermScore   = 0.9
)

// Config is the `dlp:` section of the configuration.
type Config struct {
	// Enabled turns the DLP stage on in the gateway. Default false. The
	// scanner itself (and `rampart scan`) ignores it.
	Enabled bool `yaml:"enabled"`
	// MinScore drops findings below this confidence (0 to 1). Default 0.5.
	// Raising it trades recall (values that leave unmasked) for fewer
	// false positives on ordinary prompts.
	MinScore float64 `yaml:"min_score"`
	// Disabled lists built-in entity types that are not detected at all,
	// e.g. [IP_ADDRESS, SECRET_HIGH_ENTROPY].
	Disabled []string `yaml:"disabled"`
	// Request is the policy for text sent to the model: messages of every
	// role, tool-call arguments and results, embeddings input.
	Request Policy `yaml:"request"`
	// Response is the policy for model output: content, reasoning and tool
	// calls, streamed or not. Placeholders of values pseudonymized in the
	// request are restored in the answer whatever this policy says;
	// pseudonymize here means mask.
	Response Policy `yaml:"response"`
	// Custom adds regex detectors, e.g. employee numbers.
	Custom []CustomDetector `yaml:"custom"`
	// Terms adds dictionary detectors, e.g. project code names.
	Terms []TermDictionary `yaml:"terms"`
	// ContextWords adds words per entity type that, near a candidate, make
	// it more likely (phone numbers, dates of birth, SSNs without dashes).
	ContextWords map[string][]string `yaml:"context_words"`
	// HoldBack is how many bytes a stream holds back so that a value split
	// across chunks is still found. Default 256; larger values delay
	// tokens. A credential longer than this (a JWT) is held whole up to
	// MaxHoldBack.
	HoldBack int `yaml:"hold_back"`
	// MaxHoldBack bounds how far a stream extends its hold-back while the
	// held text ends in a credential longer than hold_back that is still
	// arriving (a JWT, a 1Password "ops_eyJ" token of up to 4 KB): the
	// token is held whole until it ends, then masked at once. Ordinary text
	// is held hold_back bytes as before; a run longer than the cap is
	// released. Default 8192 (or hold_back if larger); hold_back..65536.
	MaxHoldBack int `yaml:"max_hold_back"`
	// HashKey is the HMAC key for the hash action; use one per tenant so
	// that hashes can be joined within a tenant and not across tenants.
	// Required when any policy uses hash.
	HashKey string `yaml:"hash_key"`
	// TokenInput is what happens to a completions prompt or an embeddings
	// input sent as token IDs, which the gateway cannot read: block
	// (refused with 400, the default) or allow (forwarded unscanned).
	TokenInput Action `yaml:"token_input"`
}

// Policy maps entity types to actions for one direction.
type Policy struct {
	// PII is the action for personal data without an entry in Types.
	// Default mask in requests, log in responses.
	PII Action `yaml:"pii"`
	// Secrets is the action for SECRET_* types without an entry in Types.
	// Default redact in both directions: a key must never reach the model
	// or the client, and refusing the request is often too harsh.
	Secrets Action `yaml:"secrets"`
	// Types overrides the action per entity type, e.g. CREDIT_CARD: block.
	Types map[string]Action `yaml:"types"`
}

// CustomDetector is a regex detector from configuration.
type CustomDetector struct {
	// Type is the entity type reported, upper case, e.g. EMPLOYEE_ID.
	Type string `yaml:"type"`
	// Pattern is an RE2 regular expression; the whole match is the value.
	Pattern string `yaml:"pattern"`
	// Validator checks each match: luhn, mod97 (IBAN), ssn or empty.
	Validator string `yaml:"validator"`
	// Score is the confidence reported, 0 to 1. Default 0.8.
	Score float64 `yaml:"score"`
	// ContextWords, when set, are required within 64 bytes before a match.
	ContextWords []string `yaml:"context_words"`
}

// TermDictionary reports whole-word occurrences of listed terms.
type TermDictionary struct {
	// Type is the entity type reported, e.g. PROJECT_CODENAME.
	Type string `yaml:"type"`
	// Terms are matched as whole words, ignoring ASCII case.
	Terms []string `yaml:"terms"`
	// Score is the confidence reported, 0 to 1. Default 0.9.
	Score float64 `yaml:"score"`
}

// SetDefaults fills zero values with the documented defaults. It copies the
// Custom and Terms lists before it fills a score, so that defaulting a copy
// of a Config never changes the original.
func (c *Config) SetDefaults() {
	if c.MinScore == 0 {
		c.MinScore = 0.5
	}
	if c.HoldBack == 0 {
		c.HoldBack = DefaultHoldBack
	}
	if c.MaxHoldBack == 0 {
		c.MaxHoldBack = max(DefaultMaxHoldBack, c.HoldBack)
	}
	if c.Request.PII == "" {
		c.Request.PII = ActionMask
	}
	if c.Request.Secrets == "" {
		c.Request.Secrets = ActionRedact
	}
	if c.Response.PII == "" {
		c.Response.PII = ActionLog
	}
	if c.Response.Secrets == "" {
		c.Response.Secrets = ActionRedact
	}
	if c.TokenInput == "" {
		c.TokenInput = ActionBlock
	}
	if slices.ContainsFunc(c.Custom, func(d CustomDetector) bool { return d.Score == 0 }) {
		c.Custom = slices.Clone(c.Custom)
		for i := range c.Custom {
			if c.Custom[i].Score == 0 {
				c.Custom[i].Score = DefaultCustomScore
			}
		}
	}
	if slices.ContainsFunc(c.Terms, func(d TermDictionary) bool { return d.Score == 0 }) {
		c.Terms = slices.Clone(c.Terms)
		for i := range c.Terms {
			if c.Terms[i].Score == 0 {
				c.Terms[i].Score = DefaultTermScore
			}
		}
	}
}

var validActions = map[Action]bool{ActionAllow: true, ActionLog: true, ActionRedact: true, ActionMask: true,
	ActionHash: true, ActionPseudonymize: true, ActionBlock: true}

var validators = map[string]func(string) bool{
	"":      func(string) bool { return true },
	"luhn":  func(v string) bool { return luhn(digitsOf(v)) },
	"mod97": func(v string) bool { return mod97(strings.ToUpper(strings.ReplaceAll(v, " ", ""))) },
	"ssn":   func(v string) bool { return validSSN(digitsOf(v)) },
}

// Validate reports every problem at once, in a fixed order, each as
// "field: message" with the field's path inside the dlp section, such as
// "response.secrets" or "custom[0].pattern".
func (c *Config) Validate() error {
	var errs []error
	usesHash := false
	for _, dir := range []struct {
		name string
		p    Policy
	}{{"request", c.Request}, {"response", c.Response}} {
		errs = append(errs, checkAction(dir.name+".pii", dir.p.PII), checkAction(dir.name+".secrets", dir.p.Secrets))
		usesHash = usesHash || dir.p.PII == ActionHash || dir.p.Secrets == ActionHash
		for _, typ := range slices.Sorted(maps.Keys(dir.p.Types)) {
			a := dir.p.Types[typ]
			errs = append(errs, checkAction(dir.name+".types."+typ, a))
			usesHash = usesHash || a == ActionHash
		}
	}
	if usesHash && c.HashKey == "" {
		errs = append(errs, errors.New("hash_key: required when an action is hash"))
	}
	if c.TokenInput != "" && c.TokenInput != ActionBlock && c.TokenInput != ActionAllow {
		errs = append(errs, fmt.Errorf("token_input: must be block or allow, not %q", c.TokenInput))
	}
	errs = append(errs, checkScore("min_score", c.MinScore))
	if c.HoldBack < 0 || c.HoldBack > 64<<10 {
		errs = append(errs, fmt.Errorf("hold_back: %d is outside 0..65536", c.HoldBack))
	}
	if c.MaxHoldBack != 0 && (c.MaxHoldBack < c.HoldBack || c.MaxHoldBack > 64<<10) {
		errs = append(errs, fmt.Errorf("max_hold_back: %d is outside hold_back..65536", c.MaxHoldBack))
	}
	for i, d := range c.Custom {
		errs = append(errs, d.validate(fmt.Sprintf("custom[%d]", i))...)
	}
	for i, d := range c.Terms {
		p := fmt.Sprintf("terms[%d]", i)
		if !validType(d.Type) {
			errs = append(errs, fmt.Errorf("%s.type: %q is not an upper-case entity type", p, d.Type))
		}
		if len(d.Terms) == 0 {
			errs = append(errs, fmt.Errorf("%s.terms: required: at least one term", p))
		}
		errs = append(errs, checkScore(p+".score", d.Score))
	}
	return errors.Join(errs...)
}

func checkAction(path string, a Action) error {
	if a != "" && !validActions[a] {
		return fmt.Errorf("%s: unknown action %q", path, a)
	}
	return nil
}

// checkScore requires a confidence between 0 and 1; 0 means the default.
func checkScore(path string, f float64) error {
	if !(f >= 0 && f <= 1) {
		return fmt.Errorf("%s: %v is outside 0..1", path, f)
	}
	return nil
}

func (d CustomDetector) validate(path string) []error {
	var errs []error
	if !validType(d.Type) {
		errs = append(errs, fmt.Errorf("%s.type: %q is not an upper-case entity type", path, d.Type))
	}
	if _, err := regexp.Compile(d.Pattern); err != nil || d.Pattern == "" {
		errs = append(errs, fmt.Errorf("%s.pattern: %w", path, errOr(err, "empty")))
	}
	if _, ok := validators[d.Validator]; !ok {
		errs = append(errs, fmt.Errorf("%s.validator: unknown validator %q", path, d.Validator))
	}
	return append(errs, checkScore(path+".score", d.Score))
}

func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

// validType accepts upper-case entity types usable in placeholders.
func validType(t string) bool {
	if t == "" || len(t) > 40 {
		return false
	}
	return allOf(t, func(c byte) bool { return isUpper(c) || isDigit(c) || c == '_' })
}
