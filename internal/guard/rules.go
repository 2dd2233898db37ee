package guard

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// rule is one curated pattern. Lits are literals of which at least one
// must occur, at the start of a word unless the literal begins with
// punctuation; the regular expression then runs only on windows around
// those occurrences, which keeps dozens of rules within the latency budget
// on a long prompt.
type rule struct {
	ID       string
	Category string
	Lits     []string
	Re       *regexp.Regexp
	// Also, when set, must match somewhere in the same text too.
	Also *regexp.Regexp
	// Except, when set, voids a match of Re that the text right after it
	// continues into an idiom: " the show" after "steal" reads like a
	// crime word for word and is not one.
	Except *regexp.Regexp
	// Pre, when set, makes the rule anchored: Re must match starting at a
	// literal occurrence, and Pre must match the few bytes before it. An
	// anchored match dies within bytes of a mismatch, the cheapest form.
	Pre *regexp.Regexp
	// Before and After bound the window around a literal; zero means
	// windowBefore and windowAfter.
	Before, After int
}

func newRule(id, category string, lits []string, re string) rule {
	return rule{ID: id, Category: category, Lits: lits, Re: regexp.MustCompile(re)}
}

// anchored returns the rule matched at its literals: re must start at the
// literal and pre must match the bytes just before it.
func anchored(id, category string, lits []string, pre, re string) rule {
	return rule{ID: id, Category: category, Lits: lits, Re: regexp.MustCompile(`^(?:` + re + `)`), Pre: regexp.MustCompile(`(?:` + pre + `)$`), After: 200}
}

func (r rule) span(before, after int) rule {
	r.Before, r.After = before, after
	return r
}

func (r rule) with(also string) rule {
	r.Also = regexp.MustCompile(also)
	return r
}

// except sets Except, anchored at the end of a match.
func (r rule) except(re string) rule {
	r.Except = regexp.MustCompile(`^(?:` + re + `)`)
	return r
}

// matches reports whether Re matches s somewhere Except does not void.
func (r *rule) matches(s string) bool {
	if r.Except == nil {
		return r.Re.MatchString(s)
	}
	for _, m := range r.Re.FindAllStringIndex(s, -1) {
		if !r.Except.MatchString(s[m[1]:]) {
			return true
		}
	}
	return false
}

// Every rule's match spans at most windowBefore bytes before the literal
// that triggered it and windowAfter bytes after.
const (
	windowBefore = 160
	windowAfter  = 320
	preBytes     = 24 // context Pre sees before an anchored literal
)

// litRef points from a literal to its rule.
type litRef struct {
	rule int
	lit  string
}

// ruleSet is a list of rules with an index of their literals, so one pass
// over a text finds every literal of every rule.
type ruleSet struct {
	rules   []rule
	byKey   map[string][]litRef // keyed by the literal's first keyLen bytes
	special []litRef            // literals starting with punctuation
	always  []int               // rules without literals
}

const keyLen = 4

func newRuleSet(rules []rule) *ruleSet {
	rs := &ruleSet{rules: rules, byKey: map[string][]litRef{}}
	for i, r := range rules {
		if len(r.Lits) == 0 {
			rs.always = append(rs.always, i)
		}
		for _, l := range r.Lits {
			if l == "" {
				continue
			}
			ref := litRef{rule: i, lit: l}
			if !isWordByte(l[0]) {
				rs.special = append(rs.special, ref)
				continue
			}
			k := l[:min(keyLen, len(l))]
			rs.byKey[k] = append(rs.byKey[k], ref)
		}
	}
	return rs
}

// hit is one literal occurrence.
type hit struct{ rule, pos int }

// hits returns the literal occurrences in text, in order of position for
// word literals followed by punctuation literals.
func (rs *ruleSet) hits(text string) []hit {
	var out []hit
	for p := 0; p < len(text); p++ {
		if !isWordByte(text[p]) || (p > 0 && isWordByte(text[p-1])) {
			continue
		}
		for k := 2; k <= keyLen && p+k <= len(text); k++ {
			for _, ref := range rs.byKey[text[p:p+k]] {
				if strings.HasPrefix(text[p:], ref.lit) {
					out = append(out, hit{ref.rule, p})
				}
			}
		}
	}
	for _, ref := range rs.special {
		for off := 0; off < len(text); {
			i := strings.Index(text[off:], ref.lit)
			if i < 0 {
				break
			}
			out = append(out, hit{ref.rule, off + i})
			off += i + len(ref.lit)
		}
	}
	if len(rs.special) > 0 {
		slices.SortFunc(out, func(a, b hit) int { return a.pos - b.pos })
	}
	return out
}

// first returns the first rule, in rule order, matching text.
func (rs *ruleSet) first(text string) *rule {
	hs := rs.hits(text)
	best := -1
	for _, i := range rs.always {
		if rs.rules[i].matches(text) && rs.rules[i].also(text) {
			best = i
			break
		}
	}
	for i := range rs.rules {
		if best >= 0 && i >= best {
			break
		}
		if rs.rules[i].matchAt(text, hs, i) {
			best = i
			break
		}
	}
	if best < 0 {
		return nil
	}
	return &rs.rules[best]
}

// all calls fn with every rule matching text.
func (rs *ruleSet) all(text string, skip func(*rule) bool, fn func(*rule)) {
	hs := rs.hits(text)
	for i := range rs.rules {
		r := &rs.rules[i]
		if skip(r) {
			continue
		}
		if len(r.Lits) == 0 {
			if r.matches(text) && r.also(text) {
				fn(r)
			}
			continue
		}
		if r.matchAt(text, hs, i) {
			fn(r)
		}
	}
}

// matchAt runs the rule on windows around its literal hits, merging
// windows that overlap.
func (r *rule) matchAt(text string, hs []hit, idx int) bool {
	if r.Pre != nil {
		return r.matchAnchored(text, hs, idx)
	}
	before, after := cmp.Or(r.Before, windowBefore), cmp.Or(r.After, windowAfter)
	lo, hi := -1, -1
	flush := func() bool {
		return lo >= 0 && r.matches(text[lo:hi])
	}
	for _, h := range hs {
		if h.rule != idx {
			continue
		}
		a, b := max(0, h.pos-before), min(len(text), h.pos+after)
		if lo >= 0 && a <= hi {
			hi = max(hi, b)
			continue
		}
		if flush() {
			return r.also(text)
		}
		lo, hi = a, b
	}
	return flush() && r.also(text)
}

func (r *rule) matchAnchored(text string, hs []hit, idx int) bool {
	for _, h := range hs {
		if h.rule == idx && r.matches(text[h.pos:min(len(text), h.pos+r.After)]) &&
			r.Pre.MatchString(text[max(0, h.pos-preBytes):h.pos]) && r.also(text) {
			return true
		}
	}
	return false
}

func (r *rule) also(text string) bool { return r.Also == nil || r.Also.MatchString(text) }
