package dlp

import "strings"

// numRun is a run of digits and separators that may hold one number-shaped
// entity: a card, an SSN, a phone number, an IPv4 address or a date.
type numRun struct {
	start, end int
	digits     int
}

// maxRunTokens bounds the tokens of one piece when a run of
// space-separated numbers is re-split, keeping the work per run linear.
const maxRunTokens = 12

// splitMinScore is the confidence a piece of a split run needs to claim
// its tokens.
const splitMinScore = 0.5

// findNumbers walks the text once, cutting it into numeric runs, and
// classifies each run. Runs that do not classify as a whole are split at
// spaces and their pieces classified greedily, so that a table of numbers
// still yields one finding per number.
func findNumbers(t *input, out []Finding) []Finding {
	s := t.s
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !((c == '+' || c == '(') && i+1 < len(s) && isDigit(s[i+1])) {
			continue
		}
		if wordBefore(s, i) {
			for i < len(s) && isAlnum(s[i]) {
				i++
			}
			continue
		}
		r := scanRun(s, i)
		i = r.end
		if wordAfter(s, r.end) {
			// The last token is glued to a word ("0A0000"); the tokens
			// before it still stand on their own.
			sp := strings.LastIndexByte(s[r.start:r.end], ' ')
			if sp <= 0 {
				continue
			}
			r.end = r.start + sp
		}
		out = classifyRun(t, r, out)
	}
	return out
}

// scanRun extends a run over digits and single separators (a space, '-',
// '.', '/', or a parenthesis with an optional space) and a trailing phone
// extension such as "x818".
func scanRun(s string, i int) numRun {
	r := numRun{start: i}
	j := i
	if s[j] == '+' || s[j] == '(' {
		j++
	}
	for j < len(s) {
		if isDigit(s[j]) {
			j++
			r.digits++
			r.end = j
			continue
		}
		n := sepLen(s, j)
		if n == 0 || j+n >= len(s) || !isDigit(s[j+n]) {
			break
		}
		j += n
	}
	if r.digits >= 6 {
		r.end = extension(s, r.end)
	}
	return r
}

// sepLen returns the length of an allowed separator at j, or 0.
func sepLen(s string, j int) int {
	switch s[j] {
	case '-', '.', '/':
		return 1
	case ' ':
		if j+1 < len(s) && s[j+1] == '(' {
			return 2
		}
		return 1
	case ')':
		if j+1 < len(s) && (s[j+1] == ' ' || s[j+1] == '-') {
			return 2
		}
		return 1
	case '(':
		return 1
	}
	return 0
}

// extension includes a phone extension ("x818", " ext. 12") after end.
func extension(s string, end int) int {
	rest := s[end:]
	for _, p := range []string{"x", " x", " ext. ", " ext ", " ext.", "ext"} {
		if len(rest) > len(p) && strings.EqualFold(rest[:len(p)], p) && isDigit(rest[len(p)]) {
			j := end + len(p)
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			if !wordAfter(s, j) {
				return j
			}
		}
	}
	return end
}

// classifyRun tries the run as a whole, then its space-separated pieces.
func classifyRun(t *input, r numRun, out []Finding) []Finding {
	whole, ok := classify(t, r.start, r.end)
	if ok && (whole.Type == "" || whole.Score >= splitMinScore) {
		if whole.Type != "" {
			out = append(out, whole)
		}
		return out
	}
	// A weak guess for the whole run (a low-scoring phone number) stands
	// only if no piece of the run is confidently something else.
	n := len(out)
	out = splitRun(t, r, out)
	if ok && len(out) == n {
		out = append(out, whole)
	}
	return out
}

// splitRun classifies the space-separated pieces of a run greedily,
// longest first.
func splitRun(t *input, r numRun, out []Finding) []Finding {
	s := t.s
	if !strings.Contains(s[r.start:r.end], " ") {
		return out
	}
	var cuts []int // token starts, then the end
	for i := r.start; i < r.end; i++ {
		if i == r.start || s[i-1] == ' ' {
			cuts = append(cuts, i)
		}
	}
	cuts = append(cuts, r.end+1)
	for a := 0; a < len(cuts)-1; {
		// A piece spans at most maxRunTokens tokens, so a long run (a
		// table, a card among zeros) is still searched, in linear time.
		b := min(len(cuts)-1, a+maxRunTokens)
		for ; b > a; b-- {
			if a == 0 && b == len(cuts)-1 {
				continue
			}
			// Only a confident piece claims its tokens; a weak phone guess
			// must not swallow the first digits of a card.
			if f, ok := classify(t, cuts[a], cuts[b]-1); ok && f.Type != "" && f.Score >= splitMinScore {
				out = append(out, f)
				break
			}
		}
		if b == a {
			b = a + 1
		}
		a = b
	}
	return out
}

// classify decides what number-shaped entity s[start:end] is. ok reports that
// the span is settled: it may be settled as nothing (a date without birth
// context, an SSN-shaped number breaking the SSN rules), in which case the
// Finding has no type and no other detector should claim it.
func classify(t *input, start, end int) (Finding, bool) {
	v := t.s[start:end]
	f := Finding{ByteStart: start, ByteEnd: end}
	set := func(typ string, score float64, det string) (Finding, bool) {
		f.Type, f.Score, f.Detector = typ, score, det
		return f, true
	}
	if isIPv4(v) {
		return set(TypeIP, 0.85, "ipv4")
	}
	if isDate(v) {
		if hasContext(t.lowered(), start, end, 48, 0, t.words(TypeDateTime, dobContext)) {
			return set(TypeDateTime, 0.85, "dob")
		}
		return f, true
	}
	if ssnShape(v) {
		if validSSN(digitsOf(v)) {
			// Dashes are how SSNs are written; spaces and dots are
			// shared with house numbers and versions.
			if v[3] == '-' || hasContext(t.lowered(), start, end, 48, 0, t.words(TypeSSN, ssnContext)) {
				return set(TypeSSN, 0.85, "ssn")
			}
			return set(TypeSSN, 0.45, "ssn")
		}
		return f, true
	}
	d := digitsOf(v)
	if len(d) == 9 && !strings.ContainsAny(v, " -./()+") && validSSN(d) &&
		hasContext(t.lowered(), start, end, 48, 0, t.words(TypeSSN, ssnContext)) {
		return set(TypeSSN, 0.75, "ssn")
	}
	if cardShape(v, len(d)) {
		if validCard(d) {
			return set(TypeCreditCard, 0.95, "card")
		}
	}
	if score := phoneScore(t, v, start, end, len(digitsOf(withoutExtension(v)))); score > 0 {
		return set(TypePhone, score, "phone")
	}
	return f, false
}

// withoutExtension cuts a phone extension ("x818", " ext. 12") off v.
func withoutExtension(v string) string {
	if i := strings.IndexAny(v, "xXeE"); i > 0 {
		return strings.TrimRight(v[:i], " ")
	}
	return v
}

// digitsOf returns the ASCII digits of v.
func digitsOf(v string) string {
	var b [32]byte
	n := 0
	for i := 0; i < len(v) && n < len(b); i++ {
		if isDigit(v[i]) {
			b[n] = v[i]
			n++
		}
	}
	return string(b[:n])
}

var (
	dobContext = []string{"born", "birth", "dob", "d.o.b", "geboren", "né le", "née le", "naissance", "nacimiento", "nascita", "age of"}
	ssnContext = []string{"ssn", "social security", "social-security", "tax id", "taxpayer"}
)
