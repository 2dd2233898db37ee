package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/record"
)

// Principal kinds of the token and certificate methods.
const (
	kindJWT    = "jwt"
	kindOAuth2 = "oauth2"
	kindMTLS   = "mtls"
)

// maxVerified bounds the cache of verified tokens.
const maxVerified = 4096

// Reasons a JWT is refused. They reach the log only.
var (
	errJWTParse     = errors.New("jwt does not parse or uses an algorithm no issuer accepts")
	errJWTIssuer    = errors.New("jwt issuer is not trusted")
	errJWTAlgorithm = errors.New("jwt algorithm is not pinned for its issuer")
	errJWTSignature = errors.New("jwt signature does not verify")
	errJWTSubject   = errors.New("jwt has no subject")
)

// jwtIssuer verifies the tokens of one configured issuer.
type jwtIssuer struct {
	issuer    string
	audiences []string
	algs      []jose.SignatureAlgorithm
	secret    []byte // HS algorithms only
	keys      *keySet
	skew      time.Duration
	claims    config.JWTClaims
}

// jwtVerifier checks JWT bearer tokens against the configured issuers and
// remembers tokens it verified until they expire, so a client reusing its
// token pays for the signature check once.
type jwtVerifier struct {
	issuers map[string]*jwtIssuer
	algs    []jose.SignatureAlgorithm // union, for the parser
	now     func() time.Time

	mu       sync.RWMutex
	verified map[[sha256.Size]byte]verifiedToken
}

// verifiedToken is a cached verification result.
type verifiedToken struct {
	principal *record.Principal
	until     time.Time
}

// newJWTVerifier builds the verifier; it fetches nothing until the first
// token.
func newJWTVerifier(cfg []config.JWTIssuer, now func() time.Time, log *slog.Logger) (*jwtVerifier, error) {
	v := &jwtVerifier{issuers: make(map[string]*jwtIssuer, len(cfg)), now: now,
		verified: make(map[[sha256.Size]byte]verifiedToken)}
	client := newFetchClient(fetchTimeout)
	for i, c := range cfg {
		if c.Issuer == "" {
			return nil, fmt.Errorf("jwt[%d]: issuer is required", i)
		}
		if _, dup := v.issuers[c.Issuer]; dup {
			return nil, fmt.Errorf("jwt[%d]: issuer %q listed twice", i, c.Issuer)
		}
		is := &jwtIssuer{issuer: c.Issuer, audiences: c.Audiences, skew: c.Skew, claims: c.Claims}
		if is.claims.Subject == "" {
			is.claims.Subject = "sub"
		}
		if len(c.Audiences) == 0 {
			return nil, fmt.Errorf("jwt[%d]: audiences are required", i)
		}
		algs := c.Algorithms
		if len(algs) == 0 {
			algs = []string{"RS256"}
		}
		hmac := false
		for _, a := range algs {
			alg := jose.SignatureAlgorithm(a)
			switch alg {
			case jose.HS256, jose.HS384, jose.HS512:
				hmac = true
			case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
				jose.ES256, jose.ES384, jose.ES512, jose.EdDSA:
			default:
				return nil, fmt.Errorf("jwt[%d]: unsupported algorithm %q", i, a)
			}
			is.algs = append(is.algs, alg)
			if !slices.Contains(v.algs, alg) {
				v.algs = append(v.algs, alg)
			}
		}
		if hmac {
			// A shared secret only with HS algorithms, never with a JWKS:
			// that keeps a public key from ever serving as an HMAC secret.
			if len(c.HSSecret) < 32 || len(is.algs) != countHMAC(is.algs) {
				return nil, fmt.Errorf("jwt[%d]: HS algorithms need hs_secret of at least 32 bytes and no other algorithm", i)
			}
			is.secret = []byte(c.HSSecret)
		} else {
			if c.JWKSURL == "" && !c.Discovery {
				return nil, fmt.Errorf("jwt[%d]: jwks_url or discovery is required", i)
			}
			refresh := c.Refresh
			if refresh <= 0 {
				refresh = 10 * time.Minute
			}
			is.keys = &keySet{issuer: c.Issuer, url: c.JWKSURL, discovery: c.Discovery && c.JWKSURL == "",
				refresh: refresh, minWait: minRefetchWait, client: client, now: now, log: log}
		}
		v.issuers[c.Issuer] = is
	}
	return v, nil
}

// countHMAC counts the HS algorithms in algs.
func countHMAC(algs []jose.SignatureAlgorithm) int {
	n := 0
	for _, a := range algs {
		if a == jose.HS256 || a == jose.HS384 || a == jose.HS512 {
			n++
		}
	}
	return n
}

// looksLikeJWT reports whether token has the shape of a compact JWS: three
// non-empty dot-separated base64url parts (the signature may not be
// empty, which already rules out alg "none").
func looksLikeJWT(token string) bool {
	parts := 0
	n := 0
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c == '.':
			if n == 0 {
				return false
			}
			parts++
			n = 0
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			n++
		default:
			return false
		}
	}
	return parts == 2 && n > 0
}

// verify checks token and returns its principal.
func (v *jwtVerifier) verify(ctx context.Context, token string) (*record.Principal, error) {
	h := sha256.Sum256([]byte(token))
	now := v.now()
	v.mu.RLock()
	hit, ok := v.verified[h]
	v.mu.RUnlock()
	if ok && now.Before(hit.until) {
		cp := *hit.principal
		return &cp, nil
	}
	p, until, err := v.verifySlow(ctx, token, now)
	if err != nil {
		return nil, err
	}
	v.remember(h, verifiedToken{principal: p, until: until}, now)
	cp := *p
	return &cp, nil
}

// remember caches a verified token, dropping expired entries (and, if the
// cache is still full, everything) to stay within maxVerified.
func (v *jwtVerifier) remember(h [sha256.Size]byte, t verifiedToken, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.verified) >= maxVerified {
		for k, e := range v.verified {
			if !now.Before(e.until) {
				delete(v.verified, k)
			}
		}
		if len(v.verified) >= maxVerified {
			clear(v.verified)
		}
	}
	v.verified[h] = t
}

// verifySlow parses and verifies token: the algorithm must be pinned for
// the token's issuer, the key must come from that issuer, and iss, aud,
// exp, nbf and iat must hold within the issuer's skew. It returns the
// principal and how long the result may be reused.
func (v *jwtVerifier) verifySlow(ctx context.Context, token string, now time.Time) (*record.Principal, time.Time, error) {
	tok, err := jwt.ParseSigned(token, v.algs)
	if err != nil || len(tok.Headers) != 1 {
		return nil, time.Time{}, errJWTParse
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, time.Time{}, errJWTParse
	}
	is := v.issuers[unverified.Issuer]
	if is == nil {
		return nil, time.Time{}, errJWTIssuer
	}
	hdr := tok.Headers[0]
	alg := jose.SignatureAlgorithm(hdr.Algorithm)
	if !slices.Contains(is.algs, alg) {
		return nil, time.Time{}, errJWTAlgorithm
	}
	var key any = is.secret
	if is.keys != nil {
		k, err := is.keys.key(ctx, hdr.KeyID, hdr.Algorithm)
		if err != nil {
			return nil, time.Time{}, err
		}
		key = k.Key
	}
	var std jwt.Claims
	var extra map[string]any
	if err := tok.Claims(key, &std, &extra); err != nil {
		return nil, time.Time{}, errJWTSignature
	}
	if err := is.validate(std, now); err != nil {
		return nil, time.Time{}, err
	}
	p := mapClaims(kindJWT, is.claims, extra)
	if p.ID == "" {
		return nil, time.Time{}, errJWTSubject
	}
	return p, std.Expiry.Time().Add(is.skew), nil
}

// validate checks the registered claims. exp is required: a token that
// never expires cannot be cached or revoked by time.
func (is *jwtIssuer) validate(c jwt.Claims, now time.Time) error {
	if c.Expiry == nil {
		return errors.New("jwt has no exp")
	}
	exp := jwt.Expected{Issuer: is.issuer, AnyAudience: is.audiences, Time: now}
	if err := c.ValidateWithLeeway(exp, is.skew); err != nil {
		return fmt.Errorf("jwt claims: %w", err)
	}
	return nil
}

// mapClaims builds a principal from the claims named in cfg.
func mapClaims(kind string, cfg config.JWTClaims, claims map[string]any) *record.Principal {
	p := &record.Principal{Kind: kind}
	p.ID, _ = claims[cfg.Subject].(string)
	p.Name = p.ID
	if cfg.Team != "" {
		p.Team, _ = claims[cfg.Team].(string)
	}
	if cfg.Scopes != "" {
		p.Scopes = stringList(claims[cfg.Scopes])
	}
	if cfg.Models != "" {
		p.Models = stringList(claims[cfg.Models])
	}
	return p
}

// stringList reads a claim that is a list of strings or a space-separated
// string (as OAuth2 scope is).
func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return strings.Fields(t)
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
