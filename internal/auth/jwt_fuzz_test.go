package auth

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/rampart-gw/rampart/internal/config"
)

// fuzzSecret is the HS256 secret of the fuzz issuer.
const fuzzSecret = "fuzz-secret-fuzz-secret-fuzz-sec"

// offlineVerifier is a verifier whose RS256 issuer has its JWKS cached
// and will not fetch again, so fuzzing and benchmarks touch no network.
func offlineVerifier(tb testing.TB, k testKey, now func() time.Time) *jwtVerifier {
	tb.Helper()
	v, err := newJWTVerifier([]config.JWTIssuer{
		{Issuer: "https://rs.example", JWKSURL: "http://127.0.0.1:1/jwks", Audiences: []string{"rampart"},
			Algorithms: []string{string(k.alg)}, Skew: time.Minute, Claims: config.JWTClaims{Subject: "sub", Scopes: "scope"}},
		{Issuer: "https://hs.example", Audiences: []string{"rampart"}, Algorithms: []string{"HS256"},
			HSSecret: fuzzSecret, Skew: time.Minute, Claims: config.JWTClaims{Subject: "sub"}},
	}, now, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ks := v.issuers["https://rs.example"].keys
	ks.keys.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.jwk()}})
	ks.fetchedAt.Store(now().UnixNano())
	ks.attempted = now().Add(time.Hour)
	return v
}

func FuzzJWT(f *testing.F) {
	clock := newTestClock()
	k := ecKey(f, "k1")
	v := offlineVerifier(f, k, clock.now)
	claims := map[string]any{"iss": "https://rs.example", "aud": "rampart", "sub": "u",
		"exp": clock.now().Add(time.Hour).Unix()}
	f.Add(sign(f, k, claims))
	f.Add(signHS(f, "", []byte(fuzzSecret), with(claims, "iss", "https://hs.example")))
	f.Add(unsigned(claims, ""))
	f.Add(unsigned(claims, "AAAA"))
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		if len(token) > MaxCredentialLen || !looksLikeJWT(token) {
			return
		}
		p, _, err := v.verifySlow(context.Background(), token, clock.now())
		if err == nil && p.ID == "" {
			t.Fatalf("accepted a token without subject: %q", token)
		}
	})
}

func BenchmarkAuthenticateJWT(b *testing.B) {
	k := rsaKey(b, "k1")
	a := &authenticator{methods: []string{methodAPIKey, methodJWT}, log: slog.New(slog.DiscardHandler)}
	a.jwt = offlineVerifier(b, k, time.Now)
	tok := sign(b, k, map[string]any{"iss": "https://rs.example", "aud": "rampart", "sub": "u",
		"scope": "a b", "exp": time.Now().Add(time.Hour).Unix()})
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if _, err := a.Authenticate(r.Context(), r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r.Context(), r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyJWTSignature(b *testing.B) {
	for _, k := range []testKey{rsaKey(b, "rs"), ecKey(b, "es"), edKey(b, "ed")} {
		b.Run(string(k.alg), func(b *testing.B) {
			v := offlineVerifier(b, k, time.Now)
			tok := sign(b, k, map[string]any{"iss": "https://rs.example", "aud": "rampart", "sub": "u",
				"exp": time.Now().Add(time.Hour).Unix()})
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := v.verifySlow(context.Background(), tok, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
