package guard

import (
	"regexp"
	"strings"
)

// rule is one curated pattern. Lits are literal prefilters: the regular
// expression runs only when one of them occurs, which keeps dozens of rules
// within the latency budget on a 2 KB prompt.
type rule struct {
	ID       string
	Category string
	Lits     []string
	Re       *regexp.Regexp
	// Also, when set, must match somewhere in the same text too.
	Also *regexp.Regexp
}

func newRule(id, category string, lits []string, re string) rule {
	return rule{ID: id, Category: category, Lits: lits, Re: regexp.MustCompile(re)}
}

func (r rule) with(also string) rule {
	r.Also = regexp.MustCompile(also)
	return r
}

// match reports whether the rule matches the lowercased text.
func (r *rule) match(text string) bool {
	hit := len(r.Lits) == 0
	for _, l := range r.Lits {
		if strings.Contains(text, l) {
			hit = true
			break
		}
	}
	return hit && r.Re.MatchString(text) && (r.Also == nil || r.Also.MatchString(text))
}

// firstMatch returns the first rule in rules matching text, skipping rules
// in skip.
func firstMatch(rules []rule, text string, skip map[string]bool) *rule {
	for i := range rules {
		if !skip[rules[i].ID] && rules[i].match(text) {
			return &rules[i]
		}
	}
	return nil
}
