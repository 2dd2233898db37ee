package keys

import (
	"regexp"
	"strings"
	"testing"
)

func TestNewTokenFormat(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^` + Pattern + `$`)
	seen := make(map[string]bool)
	for range 200 {
		tok, id, secret := newToken()
		if len(tok) != TokenLen || !re.MatchString(tok) {
			t.Fatalf("token %q does not match %s", tok, Pattern)
		}
		gotID, gotSecret, ok := parseToken(tok)
		if !ok || gotID != id || gotSecret != secret {
			t.Fatalf("parseToken(%q) = %q, %q, %v", tok, gotID, gotSecret, ok)
		}
		if seen[id] || seen[secret] {
			t.Fatalf("repeated id or secret in %q", tok)
		}
		seen[id], seen[secret] = true, true
	}
}

func TestRandomStringUsesWholeAlphabet(t *testing.T) {
	t.Parallel()
	// 43*200 draws from 62 symbols: a symbol never drawn would mean a biased
	// or truncated alphabet.
	counts := make(map[rune]int)
	for range 200 {
		for _, r := range randomString(SecretLen, secretAlphabet) {
			counts[r]++
		}
	}
	if len(counts) != len(secretAlphabet) {
		t.Errorf("%d distinct symbols, want %d", len(counts), len(secretAlphabet))
	}
}

func TestParseToken(t *testing.T) {
	t.Parallel()
	good := "rk-abcdefgh2345-" + strings.Repeat("aZ9", 14) + "x"
	for _, c := range []struct {
		desc  string
		token string
		ok    bool
	}{
		{"valid", good, true},
		{"empty", "", false},
		{"wrong prefix", "sk-" + good[3:], false},
		{"upper-case id", "rk-ABCDEFGH2345-" + good[16:], false},
		{"digit 1 in id", "rk-abcdefgh2341-" + good[16:], false},
		{"missing separator", "rk-abcdefgh2345_" + good[16:], false},
		{"short", good[:len(good)-1], false},
		{"long", good + "a", false},
		{"symbol in secret", good[:20] + "-" + good[21:], false},
		{"non-ascii in secret", good[:len(good)-2] + "é", false},
		{"whitespace", " " + good[1:], false},
	} {
		if _, _, ok := parseToken(c.token); ok != c.ok {
			t.Errorf("%s: parseToken ok = %v, want %v", c.desc, ok, c.ok)
		}
		if LooksLikeKey(c.token) != c.ok {
			t.Errorf("%s: LooksLikeKey disagrees with parseToken", c.desc)
		}
	}
}

func TestHashBindsID(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", SecretLen)
	a, b := hashSecret("aaaaaaaaaaaa", secret), hashSecret("bbbbbbbbbbbb", secret)
	if a == b {
		t.Error("the same secret under two ids hashes the same")
	}
	if hashSecret("aaaaaaaaaaaa", secret) != a {
		t.Error("hash is not deterministic")
	}
}

func FuzzParseToken(f *testing.F) {
	tok, _, _ := newToken()
	for _, s := range []string{tok, "", "rk-", "rk-abcdefghijkl-", strings.Repeat("x", TokenLen)} {
		f.Add(s)
	}
	re := regexp.MustCompile(`^` + Pattern + `$`)
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := parseToken(s)
		if ok != re.MatchString(s) {
			t.Fatalf("parseToken(%q) ok = %v, but Pattern says %v", s, ok, !ok)
		}
		if ok && Prefix+id+"-"+secret != s {
			t.Fatalf("parts %q %q do not rebuild %q", id, secret, s)
		}
	})
}
