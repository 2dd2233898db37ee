package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/record"
)

// staticDomain separates static key hashes from every other hash.
const staticDomain = "rampart/static-key/v1\x00"

// staticKey is a configured key, kept only as a hash.
type staticKey struct {
	hash      [sha256.Size]byte
	principal record.Principal
}

// staticKeys matches configured keys in constant time.
type staticKeys []staticKey

// newStaticKeys hashes the configured keys. Errors name the key by index
// and name, never by value.
func newStaticKeys(cfg []config.StaticKey) (staticKeys, error) {
	out := make(staticKeys, 0, len(cfg))
	seen := make(map[[sha256.Size]byte]string, len(cfg))
	for i, k := range cfg {
		if k.Name == "" {
			return nil, fmt.Errorf("static_keys[%d]: name is required", i)
		}
		if _, err := checkToken(k.Key); err != nil {
			return nil, fmt.Errorf("static_keys[%d] (%s): the key must be 1 to %d visible ASCII characters without spaces",
				i, k.Name, MaxCredentialLen)
		}
		h := hashStatic(k.Key)
		if other, dup := seen[h]; dup {
			return nil, fmt.Errorf("static_keys[%d] (%s): same key as %s", i, k.Name, other)
		}
		seen[h] = k.Name
		out = append(out, staticKey{hash: h, principal: record.Principal{
			Kind: kindAPIKey, ID: "static:" + k.Name, Name: k.Name, Team: k.Team, Models: k.Models,
		}})
	}
	return out, nil
}

// shortCredential is the longest credential hashStatic hashes from a
// buffer on the stack; static keys are usually 20 to 64 characters.
const shortCredential = 128

// hashStatic hashes a credential. A short one costs no allocation; a
// longer one (a JWT tried against the static keys) costs one. The stack
// buffer is kept small: this runs on every request's connection goroutine,
// where a kilobyte-sized frame deepens the stack every request needs.
func hashStatic(token string) [sha256.Size]byte {
	if len(token) <= shortCredential {
		var buf [len(staticDomain) + shortCredential]byte
		n := copy(buf[:], staticDomain)
		n += copy(buf[n:], token)
		return sha256.Sum256(buf[:n])
	}
	b := make([]byte, 0, len(staticDomain)+len(token))
	return sha256.Sum256(append(append(b, staticDomain...), token...))
}

// errNoMatch: the credential is neither a static key nor shaped like a
// Rampart key.
var errNoMatch = errors.New("credential matches no static key and is not a Rampart key")

// match returns the static key equal to token. It hashes the token and
// compares the hash with every configured hash, without stopping at a
// match, so the time taken does not depend on which key (if any) matched
// or on how much of a key an attacker guessed right.
func (ks staticKeys) match(token string) (*record.Principal, bool) {
	if len(ks) == 0 {
		return nil, false
	}
	h := hashStatic(token)
	found := -1
	for i := range ks {
		eq := subtle.ConstantTimeCompare(h[:], ks[i].hash[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return nil, false
	}
	return &ks[found].principal, true
}
