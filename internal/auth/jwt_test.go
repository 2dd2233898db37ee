package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/rampart-gw/rampart/internal/config"
)

// testClock is a settable clock.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *testClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *testClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// testKey is a signing key with its kid and algorithm.
type testKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

// jwk returns the public JWK of k.
func (k testKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.key.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// testIssuer is a loopback OIDC issuer serving discovery and a JWKS whose
// keys a test can change; it counts JWKS fetches.
type testIssuer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    []testKey
	fetches atomic.Int64
	down    atomic.Bool
}

func newTestIssuer(t *testing.T, keys ...testKey) *testIssuer {
	t.Helper()
	is := &testIssuer{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		is.fetches.Add(1)
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		is.mu.Lock()
		set := jose.JSONWebKeySet{}
		for _, k := range is.keys {
			set.Keys = append(set.Keys, k.jwk())
		}
		is.mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *testIssuer) setKeys(keys ...testKey) {
	is.mu.Lock()
	is.keys = keys
	is.mu.Unlock()
}

func rsaKey(t testing.TB, kid string) testKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: jose.RS256, key: k}
}

func ecKey(t testing.TB, kid string) testKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: jose.ES256, key: k}
}

func edKey(t testing.TB, kid string) testKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: jose.EdDSA, key: k}
}

// sign makes a compact JWT with k over claims.
func sign(t testing.TB, k testKey, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signHS makes an HS256 JWT with secret.
func signHS(t testing.TB, kid string, secret []byte, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned makes an alg "none" token with the given signature part.
func unsigned(claims map[string]any, sig string) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + sig
}

// issuerConfig is the configuration of is with algs.
func issuerConfig(is *testIssuer, discovery bool, algs ...string) config.JWTIssuer {
	c := config.JWTIssuer{Issuer: is.srv.URL, Audiences: []string{"rampart"}, Algorithms: algs,
		Skew: time.Minute, Refresh: 10 * time.Minute,
		Claims: config.JWTClaims{Subject: "sub", Team: "team", Scopes: "scope", Models: "models"}}
	if discovery {
		c.Discovery = true
	} else {
		c.JWKSURL = is.srv.URL + "/jwks"
	}
	return c
}

// claimsAt returns valid claims for is at now.
func claimsAt(is *testIssuer, now time.Time) map[string]any {
	return map[string]any{
		"iss": is.srv.URL, "aud": []string{"rampart"}, "sub": "user-1", "team": "blue",
		"scope": "chat:write models:read", "models": []string{"deepseek-*"},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

// with returns a copy of m with the given changes; a nil value deletes.
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func TestJWTTokenMatrix(t *testing.T) {
	t.Parallel()
	rs, es, ed := rsaKey(t, "rs1"), ecKey(t, "es1"), edKey(t, "ed1")
	is := newTestIssuer(t, rs, es, ed)
	clock := newTestClock()
	now := clock.now()
	v, err := newJWTVerifier([]config.JWTIssuer{issuerConfig(is, true, "RS256", "ES256", "EdDSA")}, clock.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := claimsAt(is, now)
	pubDER, err := x509.MarshalPKIXPublicKey(rs.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	other := rsaKey(t, "rs1") // same kid, key the issuer never published
	tests := []struct {
		desc  string
		token string
		ok    bool
	}{
		{"valid RS256", sign(t, rs, good), true},
		{"valid ES256", sign(t, es, good), true},
		{"valid EdDSA", sign(t, ed, good), true},
		{"alg none, empty signature", unsigned(good, ""), false},
		{"alg none, some signature", unsigned(good, "c2ln"), false},
		{"HS256 signed with the RSA public key", signHS(t, "rs1", pubDER, good), false},
		{"signed by a key the issuer never published", sign(t, other, good), false},
		{"wrong iss", sign(t, rs, with(good, "iss", "https://evil.example")), false},
		{"wrong aud", sign(t, rs, with(good, "aud", []string{"other"})), false},
		{"no aud", sign(t, rs, with(good, "aud", nil)), false},
		{"no exp", sign(t, rs, with(good, "exp", nil)), false},
		{"no subject", sign(t, rs, with(good, "sub", nil)), false},
		{"expired beyond skew", sign(t, rs, with(good, "exp", now.Add(-61*time.Second).Unix())), false},
		{"expired within skew", sign(t, rs, with(good, "exp", now.Add(-59*time.Second).Unix())), true},
		{"nbf beyond skew", sign(t, rs, with(good, "nbf", now.Add(61*time.Second).Unix())), false},
		{"nbf within skew", sign(t, rs, with(good, "nbf", now.Add(59*time.Second).Unix())), true},
		{"iat beyond skew", sign(t, rs, with(good, "iat", now.Add(61*time.Second).Unix())), false},
		{"iat within skew", sign(t, rs, with(good, "iat", now.Add(59*time.Second).Unix())), true},
		{"tampered payload", tamper(sign(t, rs, good)), false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			p, err := v.verify(context.Background(), tt.token)
			if (err == nil) != tt.ok {
				t.Fatalf("verify: err = %v, want ok = %v", err, tt.ok)
			}
			if tt.ok && (p.Kind != kindJWT || p.ID != "user-1" || p.Team != "blue" ||
				len(p.Scopes) != 2 || p.Scopes[0] != "chat:write" || len(p.Models) != 1) {
				t.Fatalf("principal = %+v", p)
			}
		})
	}
}

// tamper changes the subject in the payload and keeps the signature.
func tamper(token string) string {
	parts := splitDots(token)
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	_ = json.Unmarshal(payload, &m)
	m["sub"] = "admin"
	b, _ := json.Marshal(m)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func TestJWTUnknownKIDRefetchIsRateLimited(t *testing.T) {
	t.Parallel()
	rs := rsaKey(t, "rs1")
	is := newTestIssuer(t, rs)
	clock := newTestClock()
	v, err := newJWTVerifier([]config.JWTIssuer{issuerConfig(is, false, "RS256")}, clock.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.verify(context.Background(), sign(t, rs, claimsAt(is, clock.now()))); err != nil {
		t.Fatalf("first token: %v", err)
	}
	if n := is.fetches.Load(); n != 1 {
		t.Fatalf("fetches after first token = %d, want 1", n)
	}
	// 40 seconds on, a burst of tokens with unknown kids: one fetch.
	clock.add(40 * time.Second)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := rs
			k.kid = "unknown-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
			_, err := v.verify(context.Background(), sign(t, k, claimsAt(is, clock.now())))
			if !errors.Is(err, errUnknownKID) {
				t.Errorf("unknown kid: err = %v, want errUnknownKID", err)
			}
		}()
	}
	wg.Wait()
	if n := is.fetches.Load(); n != 2 {
		t.Fatalf("fetches after a burst of unknown kids = %d, want 2", n)
	}
}

func TestJWTKeyRotation(t *testing.T) {
	t.Parallel()
	old, next := rsaKey(t, "old"), ecKey(t, "next")
	is := newTestIssuer(t, old)
	clock := newTestClock()
	v, err := newJWTVerifier([]config.JWTIssuer{issuerConfig(is, true, "RS256", "ES256")}, clock.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.verify(context.Background(), sign(t, old, claimsAt(is, clock.now()))); err != nil {
		t.Fatalf("old key: %v", err)
	}
	is.setKeys(next)
	clock.add(31 * time.Second)
	if _, err := v.verify(context.Background(), sign(t, next, claimsAt(is, clock.now()))); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	// The old key is gone from the set now; a new token signed with it
	// is refused.
	if _, err := v.verify(context.Background(), sign(t, old, with(claimsAt(is, clock.now()), "sub", "other"))); err == nil {
		t.Fatal("token signed with the retired key was accepted")
	}
}

func TestJWTFailsClosedWithoutJWKS(t *testing.T) {
	t.Parallel()
	rs := rsaKey(t, "rs1")
	is := newTestIssuer(t, rs)
	is.down.Store(true)
	clock := newTestClock()
	for _, discovery := range []bool{false, true} {
		v, err := newJWTVerifier([]config.JWTIssuer{issuerConfig(is, discovery, "RS256")}, clock.now, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.verify(context.Background(), sign(t, rs, claimsAt(is, clock.now())))
		if !errors.Is(err, errJWKSMissing) {
			t.Fatalf("discovery=%v: err = %v, want errJWKSMissing", discovery, err)
		}
	}
	// Down after a good fetch: the cached keys keep serving past refresh.
	is.down.Store(false)
	v, err := newJWTVerifier([]config.JWTIssuer{issuerConfig(is, false, "RS256")}, clock.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.verify(context.Background(), sign(t, rs, claimsAt(is, clock.now()))); err != nil {
		t.Fatal(err)
	}
	is.down.Store(true)
	clock.add(11 * time.Minute)
	if _, err := v.verify(context.Background(), sign(t, rs, claimsAt(is, clock.now()))); err != nil {
		t.Fatalf("cached keys after the issuer went down: %v", err)
	}
}

func TestJWTSharedSecret(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	clock := newTestClock()
	cfg := config.JWTIssuer{Issuer: "https://hs.example", Audiences: []string{"rampart"},
		Algorithms: []string{"HS256"}, HSSecret: string(secret), Skew: time.Minute}
	v, err := newJWTVerifier([]config.JWTIssuer{cfg}, clock.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"iss": "https://hs.example", "aud": "rampart", "sub": "svc",
		"exp": clock.now().Add(time.Minute).Unix()}
	if _, err := v.verify(context.Background(), signHS(t, "", secret, claims)); err != nil {
		t.Fatalf("valid HS256: %v", err)
	}
	if _, err := v.verify(context.Background(), signHS(t, "", []byte("another-secret-another-secret-xx"), claims)); err == nil {
		t.Fatal("HS256 with the wrong secret was accepted")
	}
	for _, bad := range []config.JWTIssuer{
		{Issuer: "a", Audiences: []string{"x"}, Algorithms: []string{"HS256"}, HSSecret: "short"},
		{Issuer: "a", Audiences: []string{"x"}, Algorithms: []string{"HS256", "RS256"}, HSSecret: string(secret)},
		{Issuer: "a", Audiences: []string{"x"}, Algorithms: []string{"none"}, JWKSURL: "http://127.0.0.1/"},
	} {
		if _, err := newJWTVerifier([]config.JWTIssuer{bad}, clock.now, nil); err == nil {
			t.Fatalf("config %+v accepted", bad.Algorithms)
		}
	}
}

func TestLooksLikeJWT(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		token string
		want  bool
	}{
		{"three parts", "eyJh.eyJz.c2ln", true},
		{"empty signature", "eyJh.eyJz.", false},
		{"two parts", "eyJh.eyJz", false},
		{"four parts", "a.b.c.d", false},
		{"empty header", ".b.c", false},
		{"padding", "a.b=.c", false},
		{"rampart key", "rk_live_abc", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := looksLikeJWT(tt.token); got != tt.want {
				t.Fatalf("looksLikeJWT(%q) = %v, want %v", tt.token, got, tt.want)
			}
		})
	}
}
