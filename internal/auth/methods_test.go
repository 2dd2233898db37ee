package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/config"
)

// introServer is a loopback RFC 7662 endpoint: token "good" is active,
// "slow" answers after the client gave up, anything else is inactive.
type introServer struct {
	srv   *httptest.Server
	calls atomic.Int64
	exp   atomic.Int64
}

func newIntroServer(t *testing.T) *introServer {
	t.Helper()
	s := &introServer{}
	release := make(chan struct{})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		id, secret, ok := r.BasicAuth()
		if !ok || id != "rampart" || secret != "s%3Ac" { // "s:c" form-encoded
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch r.PostFormValue("token") {
		case "good":
			_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "sub": "svc-1", "scope": "a b", "team": "red", "exp": s.exp.Load()})
		case "slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"active": false})
		}
	}))
	t.Cleanup(func() { close(release); s.srv.Close() })
	return s
}

func introConfig(u string) *config.Introspection {
	return &config.Introspection{URL: u, ClientID: "rampart", ClientSecret: "s:c", CacheTTL: time.Minute,
		NegativeTTL: 10 * time.Second, Timeout: 300 * time.Millisecond, MaxConcurrent: 2,
		Claims: config.JWTClaims{Subject: "sub", Scopes: "scope", Team: "team"}}
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	s := newIntroServer(t)
	clock := newTestClock()
	s.exp.Store(clock.now().Add(30 * time.Second).Unix())
	in, err := newIntrospector(introConfig(s.srv.URL), clock.now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := in.verify(ctx, "good")
	if err != nil || p.Kind != kindOAuth2 || p.ID != "svc-1" || p.Team != "red" || len(p.Scopes) != 2 {
		t.Fatalf("active token: %+v, %v", p, err)
	}
	if _, err := in.verify(ctx, "good"); err != nil || s.calls.Load() != 1 {
		t.Fatalf("cached active token: err %v, calls %d, want 1", err, s.calls.Load())
	}
	// The cache never outlives the token's exp (30s), though cache_ttl is 1m.
	clock.add(31 * time.Second)
	if _, err := in.verify(ctx, "good"); err == nil {
		t.Fatal("token past its exp accepted")
	}
	if s.calls.Load() != 2 {
		t.Fatalf("calls = %d, want a new call after exp", s.calls.Load())
	}
	if _, err := in.verify(ctx, "revoked"); !errors.Is(err, errInactive) {
		t.Fatalf("inactive token: %v", err)
	}
	if _, err := in.verify(ctx, "revoked"); !errors.Is(err, errInactive) || s.calls.Load() != 3 {
		t.Fatalf("negative cache: err %v, calls %d, want 3", err, s.calls.Load())
	}
	clock.add(11 * time.Second)
	if _, err := in.verify(ctx, "revoked"); !errors.Is(err, errInactive) || s.calls.Load() != 4 {
		t.Fatalf("negative cache expiry: err %v, calls %d, want 4", err, s.calls.Load())
	}
	start := time.Now()
	if _, err := in.verify(ctx, "slow"); err == nil {
		t.Fatal("slow endpoint: token accepted")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("slow endpoint took %v, want the 300ms timeout", d)
	}
}

func TestIntrospectionDownFailsClosed(t *testing.T) {
	t.Parallel()
	s := newIntroServer(t)
	u := s.srv.URL
	s.srv.Close()
	in, err := newIntrospector(introConfig(u), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.verify(context.Background(), "good"); err == nil || errors.Is(err, errInactive) {
		t.Fatalf("endpoint down: err = %v, want a call error", err)
	}
}

// certs is a CA and client certificates signed by it.
type certs struct {
	pool   *x509.CertPool
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

func newCerts(t *testing.T) *certs {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &certs{pool: pool, caCert: ca, caKey: key}
}

func (c *certs) client(t *testing.T, cn string, dns []string, uris []string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: dns, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	for _, s := range uris {
		u, _ := url.Parse(s)
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.caCert, key.Public(), c.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestMTLSIdentity(t *testing.T) {
	t.Parallel()
	c := newCerts(t)
	cert := c.client(t, "billing-svc", []string{"billing.internal"}, []string{"spiffe://corp.example/ns/prod/sa/billing"})
	bare := c.client(t, "", nil, nil)
	tests := []struct {
		desc     string
		identity string
		cert     tls.Certificate
		want     string
	}{
		{"spiffe", "spiffe", cert, "spiffe://corp.example/ns/prod/sa/billing"},
		{"dns", "dns", cert, "billing.internal"},
		{"subject", "subject", cert, "billing-svc"},
		{"no identity of the kind", "spiffe", bare, ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			a, err := New(config.Auth{APIKeys: new(bool), MTLS: &config.MTLS{Identity: tt.identity}}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := authOverTLS(t, c, a, tt.cert)
			if got != tt.want {
				t.Fatalf("principal ID = %q, want %q", got, tt.want)
			}
		})
	}
}

// authOverTLS serves one request over loopback mTLS and returns the
// principal's ID, or "" when authentication failed.
func authOverTLS(t *testing.T, c *certs, a Authenticator, cert tls.Certificate) string {
	t.Helper()
	var got atomic.Value
	got.Store("")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, err := a.Authenticate(r.Context(), r); err == nil {
			got.Store(p.ID)
		}
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: c.pool}
	srv.StartTLS()
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return got.Load().(string)
}

func TestMethodChain(t *testing.T) {
	t.Parallel()
	rs := rsaKey(t, "rs1")
	is := newTestIssuer(t, rs)
	s := newIntroServer(t)
	s.exp.Store(time.Now().Add(time.Hour).Unix())
	static := "static-key-0123456789abcdef"
	cfg := config.Auth{APIKeys: new(bool),
		StaticKeys:    []config.StaticKey{{Name: "ci", Key: static}},
		JWT:           []config.JWTIssuer{issuerConfig(is, true, "RS256")},
		Introspection: introConfig(s.srv.URL)}
	a, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	jwtTok := sign(t, rs, claimsAt(is, time.Now()))
	tests := []struct {
		desc   string
		header string
		kind   string
	}{
		{"static key", "Bearer " + static, kindAPIKey},
		{"jwt", "Bearer " + jwtTok, kindJWT},
		{"opaque token", "Bearer good", kindOAuth2},
		{"inactive opaque token", "Bearer nope", ""},
		{"bad jwt does not fall through", "Bearer " + tamper(jwtTok), ""},
		{"no credential", "", ""},
	}
	var first *apierr.Error
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		p, err := a.Authenticate(r.Context(), r)
		if tt.kind == "" {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
				t.Fatalf("%s: err = %v, want 401", tt.desc, err)
			}
			if first == nil {
				first = e
			} else if e.Message != first.Message || e.Code != first.Code {
				t.Fatalf("%s: message %q differs from %q", tt.desc, e.Message, first.Message)
			}
			continue
		}
		if err != nil || p.Kind != tt.kind {
			t.Fatalf("%s: principal %+v, err %v, want kind %s", tt.desc, p, err, tt.kind)
		}
	}
}

func TestMethodsOrderAndConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		cfg  config.Auth
		ok   bool
	}{
		{"listed method not configured", config.Auth{APIKeys: new(bool), Anonymous: true, Methods: []string{"jwt"}}, false},
		{"nothing configured", config.Auth{APIKeys: new(bool)}, false},
		{"mtls only", config.Auth{APIKeys: new(bool), MTLS: &config.MTLS{}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.cfg, nil, nil)
			if (err == nil) != tt.ok {
				t.Fatalf("New: err = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}
