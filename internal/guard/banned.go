package guard

import (
	"regexp"
	"strings"

	"github.com/rampart-gw/rampart/internal/guard/normalize"
)

// compileBanned turns the banned lists into rules with IDs that name the
// list and position, never the banned words themselves, so verdicts do not
// reveal the policy.
func compileBanned(c BannedConfig) *ruleSet {
	var out []rule
	for _, t := range c.Topics {
		words := make([]string, 0, len(t.Keywords))
		for _, k := range t.Keywords {
			words = append(words, regexp.QuoteMeta(lower(k)))
		}
		if len(words) > 0 {
			out = append(out, rule{ID: "topic:" + t.Name, Category: "topic", Re: regexp.MustCompile(`\b(?:` + strings.Join(words, "|") + `)`)})
		}
	}
	for i, s := range c.Substrings {
		out = append(out, rule{ID: "substring:" + itoa(i), Category: "substring", Lits: []string{lower(s)}, Re: regexp.MustCompile(regexp.QuoteMeta(lower(s)))})
	}
	for i, r := range c.Regex {
		out = append(out, rule{ID: "regex:" + itoa(i), Category: "regex", Re: regexp.MustCompile(r)})
	}
	return newRuleSet(out)
}

// lower normalises a configured word the way inspected text is.
func lower(s string) string { return normalize.Normalize(s).Text }

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func (g *Guards) checkBanned(out []Verdict, n *normalize.Result) []Verdict {
	if len(g.banned.rules) == 0 {
		return out
	}
	var hit *rule
	texts(n, func(t string) bool {
		hit = g.banned.first(t)
		return hit != nil
	})
	if hit == nil {
		return out
	}
	return g.verdict(out, g.cfg.Banned.Action, Verdict{Guard: GuardBanned, Rule: hit.ID, Score: 1, Category: hit.Category})
}
