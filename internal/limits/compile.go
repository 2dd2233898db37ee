package limits

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
)

// quantity is one thing a rule counts.
type quantity uint8

const (
	qRequests quantity = iota
	qInput
	qOutput
	qTotal
	qCost
	qConcurrent
	numQuantities
)

// qSegment is each quantity's segment in a counter key; short, because it
// is repeated in every key.
var qSegment = [numQuantities]string{"r", "i", "o", "t", "c", "n"}

// compiled is a validated rule, ready for the request path.
type compiled struct {
	name   string
	match  [6]matcher
	fn     func(Subject) bool
	by     []Dimension
	window Window
	limit  [numQuantities]int64 // cost in nano-units
	maxOut int64
}

// dims lists the dimensions in the order Selector's fields are matched.
var dims = [6]Dimension{DimKey, DimUser, DimTeam, DimModel, DimRoute, DimClientIP}

// matcher matches one dimension's value against a Selector list.
type matcher struct {
	exact    []string
	prefixes []string
	nets     []netip.Prefix
}

// empty reports whether the matcher accepts every value.
func (m *matcher) empty() bool {
	return len(m.exact)+len(m.prefixes)+len(m.nets) == 0
}

// matches reports whether v is selected.
func (m *matcher) matches(v string) bool {
	for _, e := range m.exact {
		if v == e {
			return true
		}
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	if len(m.nets) == 0 {
		return false
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range m.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// applies reports whether the rule applies to s.
func (c *compiled) applies(s *Subject) bool {
	for i := range c.match {
		if !c.match[i].empty() && !c.match[i].matches(s.value(dims[i])) {
			return false
		}
	}
	return c.fn == nil || c.fn(*s)
}

// ValidateRules reports every problem of rules at once, each as
// "rules[N].field: message", joined with errors.Join. New runs the same
// checks; the configuration loader calls it so that `rampart check` reports
// bad rules with their lines before any Limiter is built.
func ValidateRules(rules []Rule) error {
	_, err := compileRules(rules)
	return err
}

// compileRules validates every rule and reports every problem at once, each
// with its path.
func compileRules(rules []Rule) ([]*compiled, error) {
	var errs []error
	out := make([]*compiled, 0, len(rules))
	seen := make(map[string]bool, len(rules))
	for i := range rules {
		c, problems := compileRule(&rules[i])
		path := fmt.Sprintf("rules[%d]", i)
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s.%w", path, p))
		}
		// A name is taken even by a rule with other problems, so that a
		// duplicate is reported in the same run.
		if name := rules[i].Name; validName(name) {
			if seen[name] {
				errs = append(errs, fmt.Errorf("%s.name: duplicate rule name %q", path, name))
			}
			seen[name] = true
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, errors.Join(errs...)
}

// compileRule validates one rule; problems are relative to the rule.
func compileRule(r *Rule) (*compiled, []error) {
	var errs []error
	switch {
	case r.Name == "":
		errs = append(errs, errors.New("name: required"))
	case !validName(r.Name):
		errs = append(errs, fmt.Errorf("name: %q must be 1-64 letters, digits, '_', '-' or '.'", r.Name))
	}
	c := &compiled{name: r.Name, fn: r.MatchFunc, window: r.Window, maxOut: r.MaxOutputTokens}
	lists := [6][]string{r.Match.Key, r.Match.User, r.Match.Team, r.Match.Model, r.Match.Route, r.Match.ClientIP}
	for i, l := range lists {
		m, problems := compileMatcher(l, dims[i] == DimClientIP)
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("match.%s%w", dims[i], p))
		}
		c.match[i] = m
	}
	errs = append(errs, c.setBy(r.By)...)
	errs = append(errs, c.setLimits(r)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

// setBy validates and stores the rule's partitioning dimensions.
func (c *compiled) setBy(by []Dimension) []error {
	var errs []error
	seen := map[Dimension]bool{}
	for j, d := range by {
		if !validDim(d) {
			errs = append(errs, fmt.Errorf("by[%d]: unknown dimension %q (want key, user, team, model, route or client_ip)", j, d))
		} else if seen[d] {
			errs = append(errs, fmt.Errorf("by[%d]: dimension %q listed twice", j, d))
		}
		seen[d] = true
	}
	c.by = append([]Dimension(nil), by...)
	return errs
}

// setLimits validates and stores the rule's quantities and window.
func (c *compiled) setLimits(r *Rule) []error {
	var errs []error
	c.limit = [numQuantities]int64{r.Requests, r.InputTokens, r.OutputTokens, r.TotalTokens, 0, r.Concurrent}
	bad := false
	if r.Cost < 0 || math.IsNaN(r.Cost) || r.Cost > math.MaxInt64/nanosPerUnit {
		errs = append(errs, fmt.Errorf("cost: %v is out of range", r.Cost))
		bad = true
	} else {
		c.limit[qCost] = int64(math.Ceil(r.Cost * nanosPerUnit))
	}
	names := [numQuantities]string{"requests", "input_tokens", "output_tokens", "total_tokens", "cost", "concurrent"}
	limited, windowed := false, false
	for q, v := range c.limit {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s: %d must not be negative", names[q], v))
			bad = true
		}
		limited = limited || v > 0
		windowed = windowed || (v > 0 && quantity(q) != qConcurrent)
	}
	// A quantity out of range is reported on its own: saying the rule
	// also limits nothing would only repeat it.
	if !limited && !bad {
		errs = append(errs, errors.New("requests: the rule limits nothing; set at least one of requests, input_tokens, output_tokens, total_tokens, cost or concurrent"))
	}
	if r.MaxOutputTokens < 0 {
		errs = append(errs, fmt.Errorf("max_output_tokens: %d must not be negative", r.MaxOutputTokens))
	}
	if (windowed || r.Window != "") && !r.Window.valid() {
		errs = append(errs, fmt.Errorf("window: %q must be second, minute, hour, day or month", r.Window))
	}
	return errs
}

// compileMatcher compiles one Selector list; each problem starts with the
// value's index, "[N]: ". A client_ip value is an IP address, a CIDR or an
// address prefix ending in '*'; an address is matched as a one-address
// prefix, so that "2001:DB8::1" and an IPv4-mapped client match too.
func compileMatcher(values []string, ip bool) (matcher, []error) {
	var m matcher
	var errs []error
	for i, v := range values {
		switch {
		case strings.HasSuffix(v, "*"):
			if ip && strings.Trim(v[:len(v)-1], "0123456789abcdefABCDEF.:") != "" {
				errs = append(errs, fmt.Errorf("[%d]: %q is not an IP address prefix", i, v))
				continue
			}
			m.prefixes = append(m.prefixes, strings.TrimSuffix(v, "*"))
		case ip && strings.Contains(v, "/"):
			p, err := netip.ParsePrefix(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("[%d]: %q is not a CIDR such as 10.0.0.0/8", i, v))
				continue
			}
			m.nets = append(m.nets, p.Masked())
		case ip:
			a, err := netip.ParseAddr(v)
			if err != nil || a.Zone() != "" {
				errs = append(errs, fmt.Errorf("[%d]: %q is not an IP address or a CIDR", i, v))
				continue
			}
			a = a.Unmap()
			m.nets = append(m.nets, netip.PrefixFrom(a, a.BitLen()))
		default:
			m.exact = append(m.exact, v)
		}
	}
	return m, errs
}

// validDim reports whether d is a known dimension.
func validDim(d Dimension) bool {
	for _, k := range dims {
		if d == k {
			return true
		}
	}
	return false
}

// validName reports whether a rule name is safe to embed in counter keys
// and metric labels.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}
