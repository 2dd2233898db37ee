package config

import (
	"strings"
	"testing"
	"time"
)

func TestAuthMethodsValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		auth string
		want string // part of FormatErrors output; "" means valid
	}{
		{"jwks issuer", "auth: {jwt: [{issuer: https://id.example, jwks_url: https://id.example/jwks, audiences: [rampart]}]}", ""},
		{"discovery issuer", "auth: {jwt: [{issuer: https://id.example, discovery: true, audiences: [rampart], algorithms: [ES256, EdDSA]}]}", ""},
		{"hs issuer", "auth: {jwt: [{issuer: svc, audiences: [rampart], algorithms: [HS256], hs_secret: 0123456789abcdef0123456789abcdef}]}", ""},
		{"no audience", "auth: {jwt: [{issuer: https://id.example, jwks_url: https://id.example/jwks}]}", "auth.jwt[0].audiences: required"},
		{"no key source", "auth: {jwt: [{issuer: https://id.example, audiences: [a]}]}", "auth.jwt[0].jwks_url: required unless discovery is on"},
		{"alg none", "auth: {jwt: [{issuer: https://id.example, jwks_url: https://id.example/j, audiences: [a], algorithms: [none]}]}", `unsupported algorithm "none"`},
		{"hs without secret", "auth: {jwt: [{issuer: svc, audiences: [a], algorithms: [HS256]}]}", "auth.jwt[0].hs_secret: required for HS algorithms"},
		{"hs mixed with rs", "auth: {jwt: [{issuer: svc, audiences: [a], algorithms: [HS256, RS256], hs_secret: 0123456789abcdef0123456789abcdef}]}", "cannot be mixed"},
		{"bad jwks url", "auth: {jwt: [{issuer: x, jwks_url: ftp://x/j, audiences: [a]}]}", "auth.jwt[0].jwks_url: must be an absolute http or https URL"},
		{"introspection", "auth: {introspection: {url: https://as.example/introspect, client_id: rampart, client_secret: s}}", ""},
		{"introspection without client", "auth: {introspection: {url: https://as.example/introspect}}", "auth.introspection.client_id: required"},
		{"mtls identity", "auth: {mtls: {identity: dns}}", ""},
		{"bad mtls identity", "auth: {mtls: {identity: email}}", "auth.mtls.identity: must be spiffe, dns or subject"},
		{"unknown method", "auth: {methods: [api_key, saml]}", `auth.methods[1]: must be api_key, jwt, introspection or mtls, not "saml"`},
		{"duplicate method", "auth: {methods: [jwt, jwt]}", "duplicate method"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(minimal+tt.auth+"\n"), "test.yaml", lookupTestEnv)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %s", FormatErrors(err))
				}
				return
			}
			if err == nil || !strings.Contains(FormatErrors(err), tt.want) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(FormatErrors(err), "0123456789abcdef") {
				t.Fatal("a secret reached an error message")
			}
		})
	}
}

func TestAuthMethodsDefaultsAndRedaction(t *testing.T) {
	t.Parallel()
	c := mustParse(t, minimal+`auth:
  jwt: [{issuer: svc, audiences: [a], algorithms: [HS256], hs_secret: 0123456789abcdef0123456789abcdef}]
  introspection: {url: https://as.example/introspect, client_id: rampart, client_secret: very-secret}
  mtls: {}
`)
	j := c.Auth.JWT[0]
	if j.Skew != time.Minute || j.Refresh != 10*time.Minute || j.Claims.Subject != "sub" || j.Claims.Scopes != "scope" {
		t.Fatalf("jwt defaults: %+v", j)
	}
	in := c.Auth.Introspection
	if in.CacheTTL != time.Minute || in.NegativeTTL != 10*time.Second || in.Timeout != 5*time.Second || in.MaxConcurrent != 16 {
		t.Fatalf("introspection defaults: %+v", in)
	}
	if c.Auth.MTLS.Identity != "spiffe" {
		t.Fatalf("mtls identity default = %q", c.Auth.MTLS.Identity)
	}
	r := c.Redacted()
	if r.Auth.JWT[0].HSSecret != RedactedText || r.Auth.Introspection.ClientSecret != RedactedText {
		t.Fatalf("secrets not redacted: %q %q", r.Auth.JWT[0].HSSecret, r.Auth.Introspection.ClientSecret)
	}
	if c.Auth.JWT[0].HSSecret == RedactedText || c.Auth.Introspection.ClientSecret != "very-secret" {
		t.Fatal("redaction changed the original configuration")
	}
}
