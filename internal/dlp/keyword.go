package dlp

import "strings"

// keyword is a word that, as (part of) a name assigned a value, marks the
// value as a credential.
type keyword struct {
	word     string
	typ      string
	password bool
}

var keywords = []keyword{
	{"password", TypePassword, true}, {"passwd", TypePassword, true}, {"pwd", TypePassword, true},
	{"passphrase", TypePassword, true}, {"passcode", TypePassword, true},
	{"secret", TypeKeywordSecret, false}, {"token", TypeKeywordSecret, false},
	{"api_key", TypeKeywordSecret, false}, {"apikey", TypeKeywordSecret, false}, {"api-key", TypeKeywordSecret, false},
	{"access_key", TypeKeywordSecret, false}, {"accesskey", TypeKeywordSecret, false},
	{"private_key", TypeKeywordSecret, false}, {"auth_key", TypeKeywordSecret, false},
	{"credential", TypeKeywordSecret, false}, {"bearer", TypeKeywordSecret, false},
}

// falseNames are names that contain a keyword but hold no secret.
var falseNames = []string{"tokens", "tokeniz", "secretar", "token_type", "token_count", "token_limit",
	"token_usage", "password_length", "password_policy", "password_reset", "password_hint", "password_hash_algo",
	"_id", "_url", "_uri", "_file", "_path", "_name", "_type", "_expir", "_ttl", "_len"}

// findKeywordSecrets finds values assigned to names containing a keyword:
// "password = hunter2!", "DB_PASSWORD: 'x9$k'", "Password=abc;", "the
// password is S3cr3t!", "Authorization: Bearer abc...". The text is searched
// in its ASCII-lowered form, once per keyword.
func findKeywordSecrets(t *input, out []Finding) []Finding {
	lower := t.lowered()
	for _, kw := range keywords {
		for off := 0; ; {
			k := indexFrom(lower, kw.word, off)
			if k < 0 {
				break
			}
			off = k + len(kw.word)
			if f, ok := keywordValue(t.s, lower, k, kw); ok {
				out = append(out, f)
				off = f.ByteEnd
			}
		}
	}
	return out
}

func isIdent(c byte) bool { return isWord(c) || c == '-' || c == '.' }

// keywordValue parses "<name> <operator> <value>" around a keyword at k.
func keywordValue(s, lower string, k int, kw keyword) (Finding, bool) {
	l, r := k, k+len(kw.word)
	for l > 0 && isIdent(lower[l-1]) {
		l--
	}
	for r < len(lower) && isIdent(lower[r]) {
		r++
	}
	name := lower[l:r]
	for _, fn := range falseNames {
		if strings.Contains(name, fn) {
			return Finding{}, false
		}
	}
	j, prose, ok := operator(s, r, kw)
	if !ok {
		return Finding{}, false
	}
	vs, ve, quoted := valueSpan(s, j)
	v := s[vs:ve]
	if !plausibleSecret(v, kw, quoted, prose) {
		return Finding{}, false
	}
	f := Finding{Type: kw.typ, ByteStart: vs, ByteEnd: ve, Score: 0.75, Detector: "keyword"}
	if kw.password {
		f.Score = 0.8
	}
	if strings.Contains(name, "aws") && len(v) == 40 && allOf(v, func(c byte) bool { return b64std(c) }) {
		f.Type, f.Score = TypeAWSSecretKey, 0.9
	}
	return f, true
}

// operator skips a closing quote, an assignment operator and blanks after
// a name; prose reports the English "is" or a space (after "Bearer").
func operator(s string, j int, kw keyword) (next int, prose, ok bool) {
	if j < len(s) && (s[j] == '"' || s[j] == '\'') {
		j++
	}
	j = skipBlanks(s, j)
	switch {
	case kw.word == "bearer" && j > 0 && s[j-1] == ' ':
		return j, false, true
	case strings.HasPrefix(s[j:], "==") || strings.HasPrefix(s[j:], "!="):
		return 0, false, false
	case strings.HasPrefix(s[j:], ":=") || strings.HasPrefix(s[j:], "=>"):
		j += 2
	case j < len(s) && (s[j] == '=' || s[j] == ':'):
		j++
	case kw.password && (strings.HasPrefix(s[j:], "is ") || strings.HasPrefix(s[j:], "was ")):
		j = skipBlanks(s, strings.IndexByte(s[j:], ' ')+j)
		return j, true, true
	default:
		return 0, false, false
	}
	j = skipBlanks(s, j)
	if strings.HasPrefix(s[j:], "!!binary ") {
		j = skipBlanks(s, j+9)
	}
	return j, false, true
}

func skipBlanks(s string, j int) int {
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	return j
}

// valueSpan returns the value at j: up to the closing quote when quoted,
// otherwise up to a blank or a delimiter.
func valueSpan(s string, j int) (start, end int, quoted bool) {
	if j < len(s) && (s[j] == '"' || s[j] == '\'' || s[j] == '`') {
		q := s[j]
		e := j + 1
		for e < len(s) && e-j < 256 && s[e] != q && s[e] != '\n' {
			e++
		}
		if e < len(s) && s[e] == q {
			return j + 1, e, true
		}
		return j + 1, j + 1, true
	}
	e := j
	for e < len(s) && e-j < 256 && !isSpace(s[e]) && !strings.ContainsRune(";,)]}&\"'<>`", rune(s[e])) {
		e++
	}
	return j, e, false
}

// plausibleSecret rejects values that are placeholders, code or prose.
func plausibleSecret(v string, kw keyword, quoted, prose bool) bool {
	minLen := 8
	if kw.password {
		minLen = 6
	}
	if len(v) < minLen || len(v) > 200 || placeholderValue(v) || strings.ContainsAny(v, " \t") {
		return false
	}
	if !quoted && (strings.ContainsAny(v, "([") || identifierPath(v)) {
		return false
	}
	if prose || !quoted {
		// Unquoted words after "password is" or "secret:" are mostly
		// prose: require something a dictionary word does not have.
		if allOf(v, isLower) || allOf(v, isAlpha) && !kw.password {
			return false
		}
	}
	if !kw.password {
		if allOf(v, isDigit) {
			return false
		}
		return classes(v) >= 2 || entropy(v) >= 3
	}
	return true
}

// identifierPath reports code references such as self.password or
// config.db.token, which name a secret without holding it.
func identifierPath(v string) bool {
	return strings.Contains(v, ".") && allOf(v, func(c byte) bool { return isAlpha(c) || c == '_' || c == '.' })
}

// placeholderValue reports values written in documentation and templates
// instead of a real secret.
func placeholderValue(v string) bool {
	if v == "" {
		return true
	}
	lv := strings.ToLower(v)
	switch lv {
	case "null", "none", "nil", "true", "false", "undefined", "required", "optional", "string", "password",
		"secret", "token", "changeme", "redacted", "example", "placeholder", "masked", "hidden", "empty":
		return true
	}
	if strings.Count(v, v[:1]) == len(v) {
		return true
	}
	for _, p := range []string{"$", "{{", "${", "%(", "%s", "<", "[", "process.env", "os.environ", "getenv", "env("} {
		if strings.HasPrefix(lv, p) {
			return true
		}
	}
	return strings.Contains(lv, "your_") || strings.Contains(lv, "your-") || strings.Contains(lv, "***") ||
		strings.Contains(lv, "xxxx") || strings.Contains(lv, "...") || strings.Contains(lv, "…")
}
