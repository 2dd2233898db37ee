package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Bounds of the JWKS and discovery client.
const (
	fetchTimeout   = 10 * time.Second
	maxFetchBytes  = 1 << 20
	maxRedirects   = 3
	minRefetchWait = 30 * time.Second
)

// Reasons a key cannot be found. They reach the log only.
var (
	errUnknownKID  = errors.New("no key with this kid in the issuer's JWKS")
	errJWKSMissing = errors.New("issuer's JWKS is unavailable and nothing is cached")
)

// newFetchClient returns the HTTP client for JWKS, discovery and
// introspection: bounded in time and never redirected to another host, so
// a compromised endpoint cannot point Rampart at an internal address.
func newFetchClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("too many redirects")
			}
			if !strings.EqualFold(req.URL.Host, via[0].URL.Host) || req.URL.Scheme != via[0].URL.Scheme {
				return errors.New("redirect to another host refused")
			}
			return nil
		},
	}
}

// getJSON fetches url and decodes at most maxFetchBytes of JSON into v.
func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBytes+1))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if len(body) > maxFetchBytes {
		return fmt.Errorf("response larger than %d bytes", maxFetchBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// keySet is one issuer's cached JWKS. Lookups read an atomic pointer and
// take no lock; a fetch happens under mu, at most once per minWait, so a
// burst of tokens with unknown kids costs the issuer one request.
type keySet struct {
	issuer    string
	url       string // JWKS URL; "" until discovery finds it
	discovery bool
	refresh   time.Duration
	minWait   time.Duration
	client    *http.Client
	now       func() time.Time
	log       *slog.Logger

	keys      atomic.Pointer[jose.JSONWebKeySet]
	fetchedAt atomic.Int64 // unix nanoseconds of the last good fetch

	mu        sync.Mutex
	attempted time.Time // last fetch attempt, good or not
	fetches   atomic.Int64
}

// key returns the key with kid for alg, fetching the JWKS when it is
// missing, stale or lacks kid, within the rate limit.
func (s *keySet) key(ctx context.Context, kid, alg string) (*jose.JSONWebKey, error) {
	ks := s.keys.Load()
	stale := ks != nil && s.now().Sub(time.Unix(0, s.fetchedAt.Load())) > s.refresh
	if ks != nil && !stale {
		if k := findKey(ks, kid, alg); k != nil {
			return k, nil
		}
	}
	s.refetch(ctx)
	if ks = s.keys.Load(); ks == nil {
		return nil, errJWKSMissing
	}
	if k := findKey(ks, kid, alg); k != nil {
		return k, nil
	}
	return nil, errUnknownKID
}

// refetch fetches the JWKS unless another fetch was attempted within
// minWait. A failed fetch keeps the keys already cached.
func (s *keySet) refetch(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !s.attempted.IsZero() && now.Sub(s.attempted) < s.minWait {
		return
	}
	s.attempted = now
	s.fetches.Add(1)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	if s.url == "" && s.discovery {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := getJSON(ctx, s.client, strings.TrimSuffix(s.issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			s.warn(ctx, "oidc discovery failed", err)
			return
		}
		if doc.Issuer != s.issuer || doc.JWKSURI == "" {
			s.warn(ctx, "oidc discovery document does not match the issuer", errors.New("issuer differs or jwks_uri is missing"))
			return
		}
		s.url = doc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, s.client, s.url, &set); err != nil {
		s.warn(ctx, "jwks fetch failed", err)
		return
	}
	pub := make([]jose.JSONWebKey, 0, len(set.Keys))
	for _, k := range set.Keys {
		// Only public signing keys: a private or symmetric key in a JWKS
		// is a misconfiguration and must not verify anything.
		if k.IsPublic() && k.Valid() && (k.Use == "" || k.Use == "sig") {
			pub = append(pub, k)
		}
	}
	s.keys.Store(&jose.JSONWebKeySet{Keys: pub})
	s.fetchedAt.Store(now.UnixNano())
}

// warn logs a failed fetch; cached keys, if any, stay in use.
func (s *keySet) warn(ctx context.Context, msg string, err error) {
	if s.log != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("issuer", s.issuer), slog.Any("error", err),
			slog.Bool("keys_cached", s.keys.Load() != nil))
	}
}

// findKey returns the key with kid whose declared algorithm, if any, is
// alg. With an empty kid, a set of exactly one key serves.
func findKey(ks *jose.JSONWebKeySet, kid, alg string) *jose.JSONWebKey {
	if kid == "" {
		if len(ks.Keys) == 1 && (ks.Keys[0].Algorithm == "" || ks.Keys[0].Algorithm == alg) {
			return &ks.Keys[0]
		}
		return nil
	}
	for i := range ks.Keys {
		k := &ks.Keys[i]
		if k.KeyID == kid && (k.Algorithm == "" || k.Algorithm == alg) {
			return k
		}
	}
	return nil
}
