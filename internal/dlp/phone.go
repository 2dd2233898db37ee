package dlp

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// phoneContext are words that, near a number, make a phone number likely.
var phoneContext = []string{"phone", "call", "tel", "mobile", "cell", "fax", "office", "contact",
	"reach", "dial", "whatsapp", "sms", "text me", "answering", "ring", "hotline", "ph.", "mob."}

// phoneScore returns the confidence that v is a phone number, or 0. The shape
// (international prefix, area code in parentheses, grouping, extension) gives
// a base score; libphonenumber's validation and context words raise it.
// Shapes that are clearly something else (a run of years) score 0.
func phoneScore(t *input, v string, start, end, digits int) float64 {
	if digits < 6 || digits > 15 || end < len(t.s) && t.s[end] == ':' {
		// A number followed by a colon is a clock time's hour.
		return 0
	}
	groups := digitGroups(v)
	if len(groups) > 6 || allYears(v) || startsWithDate(v) || strings.Count(v, "(") != strings.Count(v, ")") {
		return 0
	}
	for _, g := range groups[1:] {
		if g < 2 {
			return 0
		}
	}
	ext := strings.ContainsAny(v, "xXtT")
	score := shapeScore(v, groups)
	if v[0] != '+' && shortGroups(groups) {
		// Groups of two digits are how some countries write numbers, and
		// also how scores and measurements are listed: needs context.
		score = min(score, 0.4)
	}
	if ext {
		score += 0.1
	}
	ctx := hasContext(t.lowered(), start, end, 40, 24, t.words(TypePhone, phoneContext))
	if ctx {
		score += 0.35
	}
	// libphonenumber costs tens of microseconds per number, so it only
	// decides the ambiguous case: an international prefix without context
	// or grouping, which could be any number with a plus sign.
	if (v[0] == '+' || strings.HasPrefix(v, "00")) && !ctx && len(groups) < 3 && t.phoneChecks < maxPhoneChecks {
		t.phoneChecks++
		if validInternational(v) {
			score = max(score, 0.9)
		} else {
			score = min(score, 0.3)
		}
	}
	if digits < 7 && score < 0.75 {
		return 0
	}
	return min(score, 0.99)
}

// maxPhoneChecks bounds libphonenumber calls per text: each parse costs a few
// microseconds and a text full of numbers must not blow the latency budget.
const maxPhoneChecks = 2

// validInternational parses a number written with its country code.
func validInternational(v string) bool {
	if strings.HasPrefix(v, "00") {
		v = "+" + v[2:]
	}
	num, err := phonenumbers.Parse(v, "ZZ")
	return err == nil && phonenumbers.IsValidNumber(num)
}

// shapeScore scores the written form alone.
func shapeScore(v string, groups []int) float64 {
	switch {
	case v[0] == '+':
		return 0.6
	case strings.Contains(v, "("):
		return 0.6
	case len(groups) >= 3 && (strings.Contains(v, "-") || strings.Contains(v, ".")):
		return 0.55
	case len(groups) >= 3:
		return 0.45
	case len(groups) == 2:
		return 0.35
	}
	return 0.25
}

// digitGroups returns the lengths of the digit groups in v, ignoring an
// extension.
func digitGroups(v string) []int {
	if i := strings.IndexAny(v, "xXeE"); i > 0 {
		v = v[:i]
	}
	var gs []int
	n := 0
	for i := 0; i <= len(v); i++ {
		if i < len(v) && isDigit(v[i]) {
			n++
			continue
		}
		if n > 0 {
			gs = append(gs, n)
		}
		n = 0
	}
	return gs
}

// allYears reports whether v is a list of years ("1990 1994"), which
// has a phone number's shape but not its meaning.
func allYears(v string) bool {
	n := 0
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r < '0' || r > '9' }) {
		if len(f) != 4 || !plausibleYear(atoi(f)) {
			return false
		}
		n++
	}
	return n > 1
}

// startsWithDate reports a date followed by more numbers ("2023-04-03 01",
// a timestamp cut at the hour).
func startsWithDate(v string) bool {
	i := strings.IndexByte(v, ' ')
	return i > 0 && isDate(v[:i])
}

// shortGroups reports numbers whose groups are mostly one or two digits.
func shortGroups(groups []int) bool {
	short := 0
	for _, g := range groups {
		if g <= 2 {
			short++
		}
	}
	return len(groups) >= 3 && short*2 > len(groups)
}
