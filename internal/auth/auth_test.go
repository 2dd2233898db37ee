package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/keys"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/store"
)

const staticSecret = "static-secret-0123456789abcdefghij"

// fixture is an authenticator over a real SQLite store with three store
// keys (good, revoked, expiring) and one static key.
type fixture struct {
	auth          Authenticator
	svc           *keys.Service
	good, revoked string
	expired       string
	goodID        string
	log           *bytes.Buffer
	logMu         *sync.Mutex
	clock         *time.Time
	clockMu       *sync.Mutex
}

// lockedWriter serialises writes to the captured log.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newFixture(t testing.TB, anonymous bool) *fixture {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{log: new(bytes.Buffer), logMu: new(sync.Mutex), clockMu: new(sync.Mutex)}
	now := time.Now()
	f.clock = &now
	svc := keys.NewService(st.Keys(), keys.Options{CacheTTL: time.Hour, Now: f.now})
	ctx := context.Background()
	var rec *store.KeyRecord
	f.good, rec, err = svc.Create(ctx, keys.CreateInput{Name: "good", Team: "search", Models: []string{"r1"}})
	if err != nil {
		t.Fatal(err)
	}
	f.goodID = rec.ID
	f.revoked, rec, _ = svc.Create(ctx, keys.CreateInput{Name: "revoked"})
	if err := svc.Revoke(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	f.expired, _, _ = svc.Create(ctx, keys.CreateInput{Name: "expiring", ExpiresIn: time.Minute})
	f.advance(time.Hour)
	f.svc = svc
	log := slog.New(slog.NewTextHandler(lockedWriter{f.logMu, f.log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.auth, err = New(config.Auth{
		Anonymous:  anonymous,
		StaticKeys: []config.StaticKey{{Name: "ops", Key: staticSecret, Team: "ops", Models: []string{"*"}}},
	}, svc, log)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) now() time.Time {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	return *f.clock
}

func (f *fixture) advance(d time.Duration) {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	*f.clock = f.clock.Add(d)
}

func (f *fixture) logText() string {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	return f.log.String()
}

// request builds a request with the given header lines and a record.
func request(reqID string, headers ...[2]string) (*http.Request, context.Context) {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	for _, h := range headers {
		r.Header.Add(h[0], h[1])
	}
	ctx := record.With(r.Context(), &record.Record{ID: reqID})
	return r.WithContext(ctx), ctx
}

func hdr(k, v string) [2]string { return [2]string{k, v} }

type authCase struct {
	desc    string
	headers [][2]string
	wantID  string // principal ID; "" means a 401 is expected
}

func cases(f *fixture) []authCase {
	wrongSecret := f.good[:len(f.good)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(f.good, "a")]
	unknown := "rk-" + strings.Repeat("a", keys.IDLen) + "-" + strings.Repeat("Z", keys.SecretLen)
	return []authCase{
		{"store key", [][2]string{hdr("Authorization", "Bearer "+f.good)}, f.goodID},
		{"lower-case scheme", [][2]string{hdr("Authorization", "bearer "+f.good)}, f.goodID},
		{"upper-case scheme and extra spaces", [][2]string{hdr("Authorization", "BEARER   "+f.good+" ")}, f.goodID},
		{"api-key header", [][2]string{hdr("Api-Key", f.good)}, f.goodID},
		{"static key", [][2]string{hdr("Authorization", "Bearer "+staticSecret)}, "static:ops"},
		{"static key in api-key", [][2]string{hdr("api-key", staticSecret)}, "static:ops"},
		{"missing header", nil, ""},
		{"empty header", [][2]string{hdr("Authorization", "")}, ""},
		{"wrong scheme", [][2]string{hdr("Authorization", "Basic "+f.good)}, ""},
		{"scheme only", [][2]string{hdr("Authorization", "Bearer")}, ""},
		{"no scheme", [][2]string{hdr("Authorization", f.good)}, ""},
		{"malformed key", [][2]string{hdr("Authorization", "Bearer rk-short")}, ""},
		{"two tokens in one header", [][2]string{hdr("Authorization", "Bearer "+f.good+" "+staticSecret)}, ""},
		{"control character", [][2]string{hdr("Authorization", "Bearer "+f.good[:10]+"\x01"+f.good[11:])}, ""},
		{"unknown id", [][2]string{hdr("Authorization", "Bearer "+unknown)}, ""},
		{"wrong secret", [][2]string{hdr("Authorization", "Bearer "+wrongSecret)}, ""},
		{"static key prefix", [][2]string{hdr("Authorization", "Bearer "+staticSecret[:len(staticSecret)-1])}, ""},
		{"revoked", [][2]string{hdr("Authorization", "Bearer "+f.revoked)}, ""},
		{"expired", [][2]string{hdr("Authorization", "Bearer "+f.expired)}, ""},
		{"two authorization headers", [][2]string{hdr("Authorization", "Bearer "+f.good), hdr("Authorization", "Bearer "+f.good)}, ""},
		{"authorization and api-key", [][2]string{hdr("Authorization", "Bearer "+f.good), hdr("Api-Key", f.good)}, ""},
		{"two api-key headers", [][2]string{hdr("Api-Key", f.good), hdr("Api-Key", staticSecret)}, ""},
		{"very long header", [][2]string{hdr("Authorization", "Bearer "+strings.Repeat("x", 1<<20))}, ""},
		{"long token just over the limit", [][2]string{hdr("Authorization", "Bearer "+strings.Repeat("x", MaxCredentialLen+1))}, ""},
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	for _, c := range cases(f) {
		r, ctx := request("req-1", c.headers...)
		p, err := f.auth.Authenticate(ctx, r)
		if c.wantID != "" {
			if err != nil || p == nil || p.ID != c.wantID || p.Kind != "api_key" {
				t.Errorf("%s: got %+v, %v; want principal %s", c.desc, p, err, c.wantID)
			}
			continue
		}
		assertUnauthorized(t, c.desc, p, err)
	}
}

func assertUnauthorized(t *testing.T, desc string, p *record.Principal, err error) {
	t.Helper()
	var ae *apierr.Error
	if p != nil || !errors.As(err, &ae) {
		t.Errorf("%s: got %+v, %v; want a 401", desc, p, err)
		return
	}
	if ae.Status != 401 || ae.Type != apierr.TypeAuthentication || ae.Code != "invalid_api_key" ||
		ae.Message != messageInvalidKey || ae.Cause == nil {
		t.Errorf("%s: error %+v is not the one public 401 with a private cause", desc, ae)
	}
}

func TestPrincipalFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	for _, c := range []struct {
		desc, header string
		want         record.Principal
	}{
		{"store key", "Bearer " + f.good, record.Principal{Kind: "api_key", ID: f.goodID, Name: "good", Team: "search", Models: []string{"r1"}}},
		{"static key", "Bearer " + staticSecret, record.Principal{Kind: "api_key", ID: "static:ops", Name: "ops", Team: "ops", Models: []string{"*"}}},
	} {
		r, ctx := request("r", hdr("Authorization", c.header))
		p, err := f.auth.Authenticate(ctx, r)
		if err != nil {
			t.Fatalf("%s: %v", c.desc, err)
		}
		if p.Kind != c.want.Kind || p.ID != c.want.ID || p.Name != c.want.Name || p.Team != c.want.Team ||
			len(p.Models) != 1 || p.Models[0] != c.want.Models[0] {
			t.Errorf("%s: principal %+v, want %+v", c.desc, p, c.want)
		}
	}
}

func TestAnonymous(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	r, ctx := request("r")
	p, err := f.auth.Authenticate(ctx, r)
	if err != nil || p.Kind != "anonymous" || p.ID != "anonymous" {
		t.Errorf("no credential with anonymous on: %+v, %v", p, err)
	}
	r, ctx = request("r", hdr("Authorization", "Bearer "+f.revoked))
	p, err = f.auth.Authenticate(ctx, r)
	assertUnauthorized(t, "revoked key with anonymous on", p, err)
}

func TestLogsReasonWithoutCredential(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	for _, c := range cases(f) {
		r, ctx := request("req-"+strings.ReplaceAll(c.desc, " ", "-"), c.headers...)
		_, _ = f.auth.Authenticate(ctx, r)
	}
	out := f.logText()
	for _, secret := range []string{f.good, f.good[16:], f.revoked[16:], f.expired[16:], staticSecret, staticSecret[:12], "xxxxxxxxxxxxxxxx"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains a credential (%.8s...):\n%s", secret, out)
		}
	}
	for _, want := range []string{"reason=\"invalid api key: wrong secret\"", "key revoked", "key expired",
		"unknown key id", "more than one credential", "credential too long", "request_id=req-revoked", "not a Rampart key",
		"key_id=" + f.goodID} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestStoreUnavailableIs503(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rampart.db")
	st, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	svc := keys.NewService(st.Keys(), keys.Options{})
	a, err := New(config.Auth{}, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	r, ctx := request("r", hdr("Authorization", "Bearer rk-"+strings.Repeat("b", keys.IDLen)+"-"+strings.Repeat("Z", keys.SecretLen)))
	_, err = a.Authenticate(ctx, r)
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
		t.Errorf("store closed: %v, want 503", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	off, on := false, true
	svc := keys.NewService(nil, keys.Options{})
	key := func(name, k string) config.StaticKey { return config.StaticKey{Name: name, Key: k} }
	for _, c := range []struct {
		desc string
		cfg  config.Auth
		svc  *keys.Service
		ok   bool
	}{
		{"store keys", config.Auth{}, svc, true},
		{"store keys without a service", config.Auth{APIKeys: &on}, nil, false},
		{"default api_keys without a service", config.Auth{}, nil, false},
		{"static only", config.Auth{APIKeys: &off, StaticKeys: []config.StaticKey{key("a", staticSecret)}}, nil, true},
		{"anonymous only", config.Auth{APIKeys: &off, Anonymous: true}, nil, true},
		{"nothing enabled", config.Auth{APIKeys: &off}, svc, false},
		{"static key without name", config.Auth{StaticKeys: []config.StaticKey{key("", staticSecret)}}, svc, false},
		{"static key with space", config.Auth{StaticKeys: []config.StaticKey{key("a", "two words")}}, svc, false},
		{"empty static key", config.Auth{StaticKeys: []config.StaticKey{key("a", "")}}, svc, false},
		{"duplicate static key", config.Auth{StaticKeys: []config.StaticKey{key("a", staticSecret), key("b", staticSecret)}}, svc, false},
	} {
		_, err := New(c.cfg, c.svc, nil)
		if (err == nil) != c.ok {
			t.Errorf("%s: New error %v, want ok=%v", c.desc, err, c.ok)
		}
		if err != nil && strings.Contains(err.Error(), staticSecret) {
			t.Errorf("%s: error shows the key: %v", c.desc, err)
		}
	}
}

func TestStaticOnlyRejectsStoreKeys(t *testing.T) {
	t.Parallel()
	off := false
	a, err := New(config.Auth{APIKeys: &off, StaticKeys: []config.StaticKey{{Name: "a", Key: staticSecret}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, ctx := request("r", hdr("Authorization", "Bearer rk-"+strings.Repeat("c", keys.IDLen)+"-"+strings.Repeat("Z", keys.SecretLen)))
	p, err := a.Authenticate(ctx, r)
	assertUnauthorized(t, "store key with api_keys off", p, err)
}

// TestOverLoopback sends the credentials through a real HTTP server, so that
// header folding and canonicalisation are those of net/http.
func TestOverLoopback(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := f.auth.Authenticate(r.Context(), r); err != nil {
			apierr.Write(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	for _, c := range []struct {
		desc    string
		headers [][2]string
		status  int
	}{
		{"bearer", [][2]string{hdr("Authorization", "Bearer "+f.good)}, 204},
		{"api-key", [][2]string{hdr("api-key", f.good)}, 204},
		{"two headers", [][2]string{hdr("Authorization", "Bearer "+f.good), hdr("Authorization", "Bearer "+f.good)}, 401},
		{"both kinds", [][2]string{hdr("Authorization", "Bearer "+f.good), hdr("api-key", f.good)}, 401},
		{"wrong secret", [][2]string{hdr("Authorization", "Bearer "+f.revoked)}, 401},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, nil)
		for _, h := range c.headers {
			req.Header.Add(h[0], h[1])
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d", c.desc, resp.StatusCode, c.status)
		}
		if c.status == 401 && !strings.Contains(body.String(), `"code":"invalid_api_key"`) {
			t.Errorf("%s: body %s", c.desc, body.String())
		}
	}
}

func TestConcurrentAuthenticate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	all := cases(f)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				c := all[(g*7+i)%len(all)]
				r, ctx := request("c", c.headers...)
				p, err := f.auth.Authenticate(ctx, r)
				if (c.wantID != "") != (err == nil) || (err == nil && p.ID != c.wantID) {
					t.Errorf("%s: %+v, %v", c.desc, p, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			f.svc.Flush(context.Background())
		}
	})
	wg.Wait()
}

func BenchmarkAuthenticateCachedKey(b *testing.B) {
	f := newFixture(b, false)
	r, ctx := request("bench", hdr("Authorization", "Bearer "+f.good))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.auth.Authenticate(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticateStaticKey(b *testing.B) {
	f := newFixture(b, false)
	r, ctx := request("bench", hdr("Authorization", "Bearer "+staticSecret))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.auth.Authenticate(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticateRejected(b *testing.B) {
	f := newFixture(b, false)
	f.auth.(*authenticator).log = slog.New(slog.DiscardHandler)
	r, ctx := request("bench", hdr("Authorization", "Bearer "+f.revoked))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.auth.Authenticate(ctx, r); err == nil {
			b.Fatal("accepted")
		}
	}
}

func TestHashStaticShortAndLong(t *testing.T) {
	// Not parallel: AllocsPerRun needs the process to itself.
	for _, n := range []int{0, 1, 20, shortCredential - 1, shortCredential, shortCredential + 1, 900, MaxCredentialLen} {
		token := strings.Repeat("k", n)
		want := sha256.Sum256([]byte(staticDomain + token))
		if got := hashStatic(token); got != want {
			t.Errorf("hashStatic of %d bytes = %x, want %x", n, got, want)
		}
	}
	short := strings.Repeat("k", shortCredential)
	if n := testing.AllocsPerRun(100, func() { hashStatic(short) }); n != 0 {
		t.Errorf("hashStatic of a short credential allocates %.0f times", n)
	}
}
