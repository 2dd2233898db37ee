package keys

import (
	"crypto/rand"
	"crypto/sha256"
)

// Key format. A Rampart API key is 59 ASCII characters:
//
//	rk-<id>-<secret>
//	rk-        fixed prefix ("Rampart key")
//	<id>       12 characters of lowercase base32 (a-z, 2-7): 60 random
//	           bits; public, used to find the key in the store and shown
//	           in lists, logs and audit records
//	-          separator
//	<secret>   43 characters of base62 (0-9, A-Z, a-z): 256 random bits
//	           from crypto/rand; shown once at creation, stored only hashed
//
// Secret scanners can match it with Pattern. Both alphabets avoid '-' and
// '_', so the key is one word for editors and survives URL and shell
// quoting.
const (
	// Prefix starts every key.
	Prefix = "rk-"
	// IDLen is the length of the public id.
	IDLen = 12
	// SecretLen is the length of the secret part.
	SecretLen = 43
	// TokenLen is the length of a whole key.
	TokenLen = len(Prefix) + IDLen + 1 + SecretLen
	// Pattern is a regular expression that matches a key, for secret
	// scanners and DLP rules.
	Pattern = `\brk-[a-z2-7]{12}-[0-9A-Za-z]{43}\b`
)

const (
	idAlphabet     = "abcdefghijklmnopqrstuvwxyz234567"
	secretAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// hashDomain separates this hash from every other SHA-256 in the system, so
// that a stored key hash can never be confused with, or replayed as, the
// hash of something else (a static key, an admin token).
const hashDomain = "rampart/api-key/v1\x00"

// hashSecret returns the stored form of a key. A plain SHA-256 suffices here,
// unlike for passwords: the secret has 256 bits of entropy from crypto/rand,
// so no amount of hashing speed makes guessing it feasible, and a slow KDF
// would only cost milliseconds on every request. The id is hashed too, which
// binds the secret to its id: a hash copied onto another row does not
// verify. The buffer is on the stack, so hashing does not allocate.
func hashSecret(id, secret string) [sha256.Size]byte {
	var buf [len(hashDomain) + IDLen + 1 + SecretLen]byte
	n := copy(buf[:], hashDomain)
	n += copy(buf[n:], id)
	buf[n] = '-'
	copy(buf[n+1:], secret)
	return sha256.Sum256(buf[:])
}

// newToken returns a fresh key and its two parts.
func newToken() (token, id, secret string) {
	id = randomString(IDLen, idAlphabet)
	secret = randomString(SecretLen, secretAlphabet)
	return Prefix + id + "-" + secret, id, secret
}

// randomString draws n characters uniformly from alphabet (at most 256
// characters) with rejection sampling, so no character is more likely than
// another.
func randomString(n int, alphabet string) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		// crypto/rand.Read never returns an error; it crashes the program
		// if the system's generator fails.
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// parseToken splits a key into its id and secret, checking its length,
// prefix and alphabets. It does not allocate: id and secret share token's
// memory.
func parseToken(token string) (id, secret string, ok bool) {
	if len(token) != TokenLen || token[:len(Prefix)] != Prefix || token[len(Prefix)+IDLen] != '-' {
		return "", "", false
	}
	id = token[len(Prefix) : len(Prefix)+IDLen]
	secret = token[len(Prefix)+IDLen+1:]
	if !ValidID(id) || !validSecret(secret) {
		return "", "", false
	}
	return id, secret, true
}

// ValidID reports whether id has the form of a key id.
func ValidID(id string) bool {
	if len(id) != IDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// validSecret reports whether s has the form of a key secret.
func validSecret(s string) bool {
	if len(s) != SecretLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// LooksLikeKey reports whether token has the shape of a Rampart key; it says
// nothing about whether the key is valid.
func LooksLikeKey(token string) bool {
	_, _, ok := parseToken(token)
	return ok
}

// PublicID returns the public id of a well-formed key, for logs. It returns
// false for anything else, so that a mistyped secret is never logged as if
// it were an id.
func PublicID(token string) (string, bool) {
	id, _, ok := parseToken(token)
	return id, ok
}
