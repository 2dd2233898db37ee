package dlp

// Entropy thresholds in bits per character, as detect-secrets uses them: a
// random base64 string of 20 or more characters exceeds 4.5 almost always,
// English words and identifiers almost never; hex strings top out at 4.
const (
	base64Entropy = 4.5
	hexEntropy    = 3.0
	minBase64Len  = 20
	minHexLen     = 10
)

func entropyChar(c byte) bool { return isAlnum(c) || c == '+' || c == '/' || c == '_' || c == '-' }

// findHighEntropy finds random-looking strings in value positions (quoted,
// assigned, or alone on a line) without a keyword nearby: keys pasted in
// configuration and code. Requiring a value position keeps commit hashes
// and identifiers in prose from matching.
func findHighEntropy(t *input, out []Finding) []Finding {
	s := t.s
	for i := 0; i < len(s); i++ {
		if !entropyChar(s[i]) {
			continue
		}
		j := i
		for j < len(s) && entropyChar(s[j]) {
			j++
		}
		e := j
		for e < len(s) && e-j < 2 && s[e] == '=' {
			e++
		}
		if e > j && e < len(s) && entropyChar(s[e]) {
			e = j // an assignment ("name=value"), not base64 padding
		}
		if f, ok := entropyToken(s, i, e); ok {
			out = append(out, f)
		}
		i = e
	}
	return out
}

func entropyToken(s string, i, e int) (Finding, bool) {
	v := s[i:e]
	if len(v) < minHexLen || len(v) > 1024 || !valuePosition(s, i, e) || hashContext(s, i, e) {
		return Finding{}, false
	}
	f := Finding{Type: TypeHighEntropy, ByteStart: i, ByteEnd: e, Detector: "entropy"}
	if allOf(v, isHex) {
		if classes(v) < 2 || !containsLetter(v) || entropy(v) < hexEntropy || uuidLike(v) {
			return Finding{}, false
		}
		f.Score = 0.55
		if len(v) >= 32 {
			f.Score = 0.65
		}
		return f, true
	}
	if len(v) < minBase64Len || entropy(v) < base64Entropy || identifierLike(v) {
		return Finding{}, false
	}
	f.Score = 0.65
	return f, true
}

func containsLetter(v string) bool {
	for i := 0; i < len(v); i++ {
		if isAlpha(v[i]) {
			return true
		}
	}
	return false
}

// uuidLike is true for hex with the 8-4-4-4-12 dashes of a UUID; UUIDs are
// identifiers, not secrets.
func uuidLike(v string) bool { return len(v) == 36 && v[8] == '-' && v[13] == '-' }

// identifierLike is true for file paths and dashed or underscored word
// sequences, which can have high entropy but hold no secret.
func identifierLike(v string) bool {
	seps := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '/' || v[i] == '_' || v[i] == '-' {
			seps++
		}
	}
	return seps >= 3 && classes(v) < 3
}

// valuePosition reports whether s[i:e] is quoted, follows an assignment, or
// stands alone on its line.
func valuePosition(s string, i, e int) bool {
	b := i - 1
	for b >= 0 && (s[b] == ' ' || s[b] == '\t') {
		b--
	}
	a := e
	for a < len(s) && (s[a] == ' ' || s[a] == '\t') {
		a++
	}
	before, after := byte('\n'), byte('\n')
	if b >= 0 {
		before = s[b]
	}
	if a < len(s) {
		after = s[a]
	}
	switch {
	case (before == '"' || before == '\'' || before == '`') && before == after:
		return true
	case before == '=' || before == ':' && b+1 == i || before == ':' && b > 0 && s[b-1] != ':':
		return after == '\n' || after == '\r' || after == ';' || after == ',' || after == '#' || after == '}' || after == '&'
	case before == '\n' && (after == '\n' || after == '\r'):
		return true
	}
	return false
}
