package dlp

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// input is one text under scan with lazily computed views shared by the
// detectors.
type input struct {
	s           string
	lower       string
	hasLower    bool
	phoneChecks int
	extra       map[string][]string
}

// lowered returns the ASCII-lowered text, computing it once.
func (t *input) lowered() string {
	if !t.hasLower {
		t.lower, t.hasLower = asciiLower(t.s), true
	}
	return t.lower
}

// words returns the built-in context words for typ plus configured ones.
func (t *input) words(typ string, base []string) []string {
	if extra := t.extra[typ]; len(extra) > 0 {
		return append(slices.Clip(base), extra...)
	}
	return base
}

// detectFunc appends the findings of one detector.
type detectFunc func(t *input, out []Finding) []Finding

// builtin lists the built-in detectors with the types each can report, so
// that disabling every type of a detector skips it entirely.
var builtin = []struct {
	fn    detectFunc
	types []string
}{
	{findEmails, []string{TypeEmail}},
	{findNumbers, []string{TypeCreditCard, TypeSSN, TypePhone, TypeIP, TypeDateTime}},
	{findIBANs, []string{TypeIBAN}},
	{findIPv6, []string{TypeIP}},
	{findTokens, nil},
	{findAzureADSecrets, []string{TypeAzureADSecret}},
	{findPrivateKeys, []string{TypePrivateKey}},
	{findURLPasswords, []string{TypeURLPassword}},
	{findKeywordSecrets, []string{TypePassword, TypeKeywordSecret, TypeAWSSecretKey}},
	{findHighEntropy, []string{TypeHighEntropy}},
}

// Scanner runs the detectors and applies actions. It is immutable after New
// and safe for concurrent use.
type Scanner struct {
	cfg       Config
	detectors []detectFunc
	disabled  map[string]bool
	hashKey   []byte
	// longPrefixes, by first byte, are the prefixes of token formats that
	// can be longer than the hold-back; a stream holds such a token whole.
	longPrefixes [256][]string
}

// New validates cfg, fills its defaults and compiles the detectors.
func New(cfg Config) (*Scanner, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dlp config: %w", err)
	}
	s := &Scanner{cfg: cfg, disabled: map[string]bool{}, hashKey: []byte(cfg.HashKey)}
	s.cfg.ContextWords = map[string][]string{}
	for typ, ws := range cfg.ContextWords {
		s.cfg.ContextWords[typ] = lowerAll(ws)
	}
	for _, t := range cfg.Disabled {
		s.disabled[t] = true
	}
	for _, r := range tokenRules {
		if len(r.prefix)+r.max > cfg.HoldBack && !s.disabled[r.typ] {
			s.longPrefixes[r.prefix[0]] = append(s.longPrefixes[r.prefix[0]], r.prefix)
		}
	}
	for _, b := range builtin {
		if b.types == nil || slices.ContainsFunc(b.types, func(t string) bool { return !s.disabled[t] }) {
			s.detectors = append(s.detectors, b.fn)
		}
	}
	for _, d := range cfg.Custom {
		s.detectors = append(s.detectors, customDetector(d))
	}
	for _, d := range cfg.Terms {
		s.detectors = append(s.detectors, termDetector(d))
	}
	return s, nil
}

// Config returns the scanner's configuration with defaults filled in.
func (s *Scanner) Config() Config { return s.cfg }

// Scan returns the findings in text, sorted and without overlaps, with
// scores at or above the configured minimum. Offsets count code points.
func (s *Scanner) Scan(text string) []Finding {
	return s.scan(text, nil)
}

func (s *Scanner) scan(text string, buf []Finding) []Finding {
	if len(text) < 6 {
		return buf[:0]
	}
	t := input{s: text, extra: s.cfg.ContextWords}
	out := buf[:0]
	for _, d := range s.detectors {
		out = d(&t, out)
	}
	kept := out[:0]
	for _, f := range out {
		if f.Score >= s.cfg.MinScore && !s.disabled[f.Type] {
			kept = append(kept, f)
		}
	}
	return resolve(text, kept)
}

// customDetector compiles a configured regex detector. Validate has
// already checked the pattern and validator.
func customDetector(d CustomDetector) detectFunc {
	re := regexp.MustCompile(d.Pattern)
	valid := validators[d.Validator]
	score := d.Score
	if score == 0 {
		score = DefaultCustomScore
	}
	lit, _ := re.LiteralPrefix()
	ctx := lowerAll(d.ContextWords)
	return func(t *input, out []Finding) []Finding {
		if lit != "" && !strings.Contains(t.s, lit) {
			return out
		}
		for _, m := range re.FindAllStringIndex(t.s, -1) {
			if !valid(t.s[m[0]:m[1]]) {
				continue
			}
			if len(d.ContextWords) > 0 && !hasContext(t.lowered(), m[0], m[1], 64, 0, ctx) {
				continue
			}
			out = append(out, Finding{Type: d.Type, ByteStart: m[0], ByteEnd: m[1], Score: score, Detector: "custom"})
		}
		return out
	}
}

// termDetector matches dictionary terms as whole words, ignoring case.
func termDetector(d TermDictionary) detectFunc {
	terms := lowerAll(d.Terms)
	score := d.Score
	if score == 0 {
		score = DefaultTermScore
	}
	return func(t *input, out []Finding) []Finding {
		lower := t.lowered()
		for _, term := range terms {
			for off := 0; ; {
				i := indexFrom(lower, term, off)
				if i < 0 {
					break
				}
				off = i + len(term)
				if !wordBefore(lower, i) && !wordAfter(lower, off) {
					out = append(out, Finding{Type: d.Type, ByteStart: i, ByteEnd: off, Score: score, Detector: "terms"})
				}
			}
		}
		return out
	}
}

func lowerAll(ws []string) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		if w = asciiLower(strings.TrimSpace(w)); w != "" {
			out = append(out, w)
		}
	}
	return out
}
