package dlp

import "strings"

// Look-alikes: values that have the shape of a credential but are fake.
// Measured in eval/secrets, they were most of Rampart's false positives on
// texts without a secret: lockfile hashes and commit SHAs taken for random
// keys, and placeholders such as "ghp_XXXX…". The vendors' documentation
// keys (AWS's AKIAIOSFODNN7EXAMPLE) are still reported, by choice: they have
// a real key's exact shape, detect-secrets' fixtures use them as stand-ins
// for real keys, and masking one costs a user nothing.

// fakeBody reports a token body that no key generator produces: one or two
// characters repeated ("XXXX…", "0000…", "abab…"), a run of eight identical
// characters ("…abxxxxxxxxcd…"), or a body of 16 or more made mostly of
// counting sequences and repeats ("1234567890…", "aaaabbbb…"). Random bodies
// have none of these: in a random alphanumeric body about one adjacent pair
// in thirty is equal or consecutive (one in five for digits), here at least
// 60% are.
func fakeBody(b string) bool {
	if len(b) < 8 {
		return false
	}
	var seen [256]bool
	distinct, run, steady := 0, 1, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !seen[c] {
			seen[c] = true
			distinct++
		}
		if i == 0 {
			continue
		}
		p := b[i-1]
		switch {
		case c == p:
			run++
			steady++
		case c == p+1 && isAlnum(c) && isAlnum(p), p == '9' && c == '0':
			run = 1
			steady++
		default:
			run = 1
		}
		if run >= 8 {
			return true
		}
	}
	return distinct <= 2 || len(b) >= 16 && steady*10 >= (len(b)-1)*6
}

// digestAlgs label a digest written as "alg:value" ("sha256:…" in image
// digests, "h1:…" in go.sum) or "alg-value" (subresource integrity,
// "sha512-…" in package-lock.json).
var digestAlgs = []string{"sha1", "sha224", "sha256", "sha384", "sha512", "md5", "h1", "blake2b", "blake3"}

// hashNames are names whose values are digests or revisions of public
// content, not credentials. A name part matches when it contains one of
// them ("checksum_sha256", "commitSha", "git_commit"); the short ones in
// exactHashNames must be a whole part.
var (
	hashNames      = []string{"integrity", "checksum", "hash", "digest", "commit", "revision", "etag", "resolved", "fingerprint"}
	exactHashNames = []string{"sha", "rev", "oid", "md5", "h1"}
	// secretNames override: a "hash_key" or "commit_token" holds a secret.
	secretNames = []string{"key", "secret", "token", "pass", "pwd", "auth", "cred", "private", "salt", "hmac", "signing", "bearer"}
)

// hashContext reports a value at s[i:e] that the entropy detector would
// take for a random key but that is a digest: it carries an algorithm label
// ("sha512-…", "sha256:…", "h1:…"), follows a "#" in a URL (yarn's
// "resolved" field), is assigned to a digest's name ("checksum = …",
// "\"sha\": …", "integrity: …"), or is a bare git or SHA-256 digest (40 or 64
// lower-case hex digits) not assigned to a credential's name.
func hashContext(s string, i, e int) bool {
	v := s[i:e]
	lv := asciiLower(v)
	for _, a := range digestAlgs {
		if strings.HasPrefix(lv, a) && len(lv) > len(a)+8 && lv[len(a)] == '-' {
			return true
		}
	}
	if i > 0 && s[i-1] == ':' {
		w := i - 1
		for w > 0 && isAlnum(s[w-1]) {
			w--
		}
		for _, a := range digestAlgs {
			if strings.EqualFold(s[w:i-1], a) {
				return true
			}
		}
	}
	hex := allOf(v, lowerHex)
	if hex && i > 0 && s[i-1] == '#' {
		return true
	}
	name := asciiLower(nameBefore(s, i))
	if nameHas(name, secretNames, nil) {
		return false
	}
	if nameHas(name, hashNames, exactHashNames) {
		return true
	}
	return hex && (len(v) == 40 || len(v) == 64)
}

// nameHas reports whether a part of name (split at non-alphanumerics)
// contains one of words or equals one of exact, possibly followed by
// digits ("sha1", "rev2").
func nameHas(name string, words, exact []string) bool {
	for part := range strings.FieldsFuncSeq(name, func(r rune) bool { return r > 0x7f || !isAlnum(byte(r)) }) {
		for _, w := range words {
			if strings.Contains(part, w) {
				return true
			}
		}
		for _, x := range exact {
			if part == x || strings.HasPrefix(part, x) && allOf(part[len(x):], isDigit) {
				return true
			}
		}
	}
	return false
}

// nameBefore returns the name that a value at i is assigned to: the word
// before an optional closing quote and an operator (=, :, :=, =>), or the
// word just before the value ("integrity sha512-…" in yarn.lock). It is
// empty when there is none on the same line.
func nameBefore(s string, i int) string {
	b := i
	skip := func() {
		for b > 0 && (s[b-1] == ' ' || s[b-1] == '\t') {
			b--
		}
	}
	quote := func() {
		if b > 0 && (s[b-1] == '"' || s[b-1] == '\'' || s[b-1] == '`') {
			b--
		}
	}
	quote()
	skip()
	switch {
	case b >= 2 && (s[b-2:b] == ":=" || s[b-2:b] == "=>"):
		b -= 2
	case b >= 1 && (s[b-1] == '=' || s[b-1] == ':'):
		b--
	}
	skip()
	quote()
	e := b
	for b > 0 && (isWord(s[b-1]) || s[b-1] == '-' || s[b-1] == '.') {
		b--
	}
	return s[b:e]
}
