package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/record"
)

// maxIntrospected bounds the introspection cache.
const maxIntrospected = 4096

// Reasons an opaque token is refused. They reach the log only.
var (
	errInactive       = errors.New("introspection: token is not active")
	errIntrospectBusy = errors.New("introspection: too many calls in flight")
)

// introspector checks opaque tokens at an RFC 7662 endpoint and caches the
// answers: active ones for at most cacheTTL and never past the token's
// exp, inactive ones for negativeTTL. Any failure to get an answer refuses
// the token.
type introspector struct {
	url, clientID, clientSecret string
	cacheTTL, negativeTTL       time.Duration
	timeout                     time.Duration
	claims                      config.JWTClaims
	client                      *http.Client
	sem                         chan struct{}
	now                         func() time.Time

	mu    sync.RWMutex
	cache map[[sha256.Size]byte]introspected
}

// introspected is a cached answer; principal is nil for an inactive token.
type introspected struct {
	principal *record.Principal
	until     time.Time
}

// newIntrospector builds the introspection method.
func newIntrospector(cfg *config.Introspection, now func() time.Time) (*introspector, error) {
	if cfg.URL == "" || cfg.ClientID == "" {
		return nil, errors.New("introspection: url and client_id are required")
	}
	in := &introspector{url: cfg.URL, clientID: cfg.ClientID, clientSecret: cfg.ClientSecret,
		cacheTTL: cfg.CacheTTL, negativeTTL: cfg.NegativeTTL, timeout: cfg.Timeout, claims: cfg.Claims,
		now: now, cache: make(map[[sha256.Size]byte]introspected)}
	if in.timeout <= 0 {
		in.timeout = 5 * time.Second
	}
	if in.claims.Subject == "" {
		in.claims.Subject = "sub"
	}
	n := cfg.MaxConcurrent
	if n <= 0 {
		n = 16
	}
	in.sem = make(chan struct{}, n)
	in.client = newFetchClient(in.timeout)
	return in, nil
}

// verify returns the principal of an active token.
func (in *introspector) verify(ctx context.Context, token string) (*record.Principal, error) {
	h := sha256.Sum256([]byte(token))
	now := in.now()
	in.mu.RLock()
	hit, ok := in.cache[h]
	in.mu.RUnlock()
	if ok && now.Before(hit.until) {
		if hit.principal == nil {
			return nil, errInactive
		}
		cp := *hit.principal
		return &cp, nil
	}
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	select {
	case in.sem <- struct{}{}:
		defer func() { <-in.sem }()
	case <-ctx.Done():
		return nil, errIntrospectBusy
	}
	p, exp, err := in.call(ctx, token)
	if err != nil {
		return nil, err
	}
	until := now.Add(in.negativeTTL)
	if p != nil {
		until = now.Add(in.cacheTTL)
		if !exp.IsZero() && exp.Before(until) {
			until = exp
		}
	}
	in.remember(h, introspected{principal: p, until: until}, now)
	if p == nil {
		return nil, errInactive
	}
	cp := *p
	return &cp, nil
}

// call asks the endpoint about token with client_secret_basic. It returns
// a nil principal for an inactive (or expired, or subject-less) token.
func (in *introspector) call(ctx context.Context, token string) (*record.Principal, time.Time, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("introspection: build request: %w", err)
	}
	// RFC 6749 section 2.3.1: the credentials are form-encoded first.
	req.SetBasicAuth(url.QueryEscape(in.clientID), url.QueryEscape(in.clientSecret))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := in.client.Do(req)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("introspection: call: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("introspection: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchBytes+1))
	if err != nil || len(body) > maxFetchBytes {
		return nil, time.Time{}, fmt.Errorf("introspection: read answer: %w", errors.Join(err, errors.New("too large or unreadable")))
	}
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, time.Time{}, fmt.Errorf("introspection: decode: %w", err)
	}
	if active, _ := answer["active"].(bool); !active {
		return nil, time.Time{}, nil
	}
	var exp time.Time
	if e, ok := answer["exp"].(float64); ok {
		exp = time.Unix(int64(e), 0)
		if !in.now().Before(exp) {
			return nil, time.Time{}, nil
		}
	}
	p := mapClaims(kindOAuth2, in.claims, answer)
	if p.ID == "" {
		return nil, time.Time{}, nil
	}
	return p, exp, nil
}

// remember caches an answer within maxIntrospected entries.
func (in *introspector) remember(h [sha256.Size]byte, e introspected, now time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.cache) >= maxIntrospected {
		for k, old := range in.cache {
			if !now.Before(old.until) {
				delete(in.cache, k)
			}
		}
		if len(in.cache) >= maxIntrospected {
			clear(in.cache)
		}
	}
	in.cache[h] = e
}
