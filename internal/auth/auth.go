// Package auth is the authentication stage: it finds the caller's one
// credential (a bearer token or an api-key header), checks it against the
// static keys of the configuration and then the API keys of the store, and
// returns the principal. A client only ever learns that its credentials were
// not accepted; the exact reason goes to the log with the request ID, and a
// credential never does.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/keys"
	"github.com/rampart-gw/rampart/internal/record"
)

// Principal kinds set by this stage.
const (
	kindAPIKey    = "api_key"
	kindAnonymous = "anonymous"
)

// Client-facing failure. One message for every reason, so that a client
// cannot tell a wrong secret from an unknown or revoked key.
const (
	codeInvalidKey    = "invalid_api_key"
	messageInvalidKey = "Invalid credentials: provide a valid API key or token as 'Authorization: Bearer <token>'."
)

// Authenticator identifies the caller of a request.
type Authenticator interface {
	// Authenticate returns the principal, or an *apierr.Error: 401 when the
	// credentials are missing or not accepted, 503 when the key store
	// cannot be read.
	Authenticate(ctx context.Context, r *http.Request) (*record.Principal, error)
}

// authenticator tries the configured methods in order.
type authenticator struct {
	static    staticKeys
	svc       *keys.Service // nil when store keys are off
	jwt       *jwtVerifier  // nil when no issuer is configured
	intro     *introspector // nil when introspection is off
	mtls      certIdentity  // "" when mTLS identity is off
	methods   []string
	anonymous bool
	log       *slog.Logger
}

// New builds the stage from the configuration. svc is the store's key
// service; it may be nil only when api_keys is off.
func New(cfg config.Auth, svc *keys.Service, log *slog.Logger) (Authenticator, error) {
	static, err := newStaticKeys(cfg.StaticKeys)
	if err != nil {
		return nil, err
	}
	storeKeys := cfg.APIKeys == nil || *cfg.APIKeys
	if storeKeys && svc == nil {
		return nil, errors.New("api_keys is on but no key store is available")
	}
	if !storeKeys {
		svc = nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &authenticator{static: static, svc: svc, anonymous: cfg.Anonymous, log: log}
	if len(cfg.JWT) > 0 {
		if a.jwt, err = newJWTVerifier(cfg.JWT, time.Now, log); err != nil {
			return nil, err
		}
	}
	if cfg.Introspection != nil {
		if a.intro, err = newIntrospector(cfg.Introspection, time.Now); err != nil {
			return nil, err
		}
	}
	if cfg.MTLS != nil {
		a.mtls = certIdentity(cfg.MTLS.Identity)
		if a.mtls == "" {
			a.mtls = "spiffe"
		}
	}
	if a.methods, err = a.order(cfg.Methods); err != nil {
		return nil, err
	}
	if len(a.methods) == 0 && !cfg.Anonymous {
		return nil, errors.New("no way to authenticate: enable api_keys, add static_keys, jwt, introspection or mtls, or allow anonymous")
	}
	return a, nil
}

// order returns the methods to try: the configured order, or every
// configured method with API keys first. A listed method that is not
// configured is an error, since it would silently never match.
func (a *authenticator) order(listed []string) ([]string, error) {
	configured := map[string]bool{
		methodAPIKey:        a.svc != nil || len(a.static) > 0,
		methodJWT:           a.jwt != nil,
		methodIntrospection: a.intro != nil,
		methodMTLS:          a.mtls != "",
	}
	if len(listed) == 0 {
		var out []string
		for _, m := range []string{methodAPIKey, methodJWT, methodIntrospection, methodMTLS} {
			if configured[m] {
				out = append(out, m)
			}
		}
		return out, nil
	}
	for _, m := range listed {
		if !configured[m] {
			return nil, fmt.Errorf("auth.methods lists %q but it is not configured", m)
		}
	}
	// Methods left out of the list are off.
	if !slices.Contains(listed, methodAPIKey) {
		a.static, a.svc = nil, nil
	}
	return slices.Clone(listed), nil
}

// Method names of auth.methods.
const (
	methodAPIKey        = "api_key"
	methodJWT           = "jwt"
	methodIntrospection = "introspection"
	methodMTLS          = "mtls"
)

// Authenticate implements Authenticator. A bearer credential goes to the
// first method in order that claims it by shape: API keys (a static key
// or a Rampart key), JWT (three base64url parts), introspection (any
// other token). With no credential, a verified client certificate is
// tried when mtls is on, then anonymous access when allowed.
func (a *authenticator) Authenticate(ctx context.Context, r *http.Request) (*record.Principal, error) {
	token, source, err := credential(r.Header)
	if errors.Is(err, errNoCredential) {
		if leaf := verifiedLeaf(r); leaf != nil && a.mtls != "" {
			p, err := a.mtls.principal(leaf)
			if err != nil {
				return nil, a.reject(ctx, err, "client_certificate", "")
			}
			return p, nil
		}
		if a.anonymous {
			return &record.Principal{Kind: kindAnonymous, ID: kindAnonymous}, nil
		}
	}
	// A wrong credential is refused even when anonymous access is allowed:
	// the client expects its key's identity and limits, and silently
	// dropping to anonymous would hide the mistake.
	if err != nil {
		return nil, a.reject(ctx, err, source, "")
	}
	for _, m := range a.methods {
		switch m {
		case methodAPIKey:
			if p, ok := a.static.match(token); ok {
				cp := *p
				return &cp, nil
			}
			if a.svc != nil && keys.LooksLikeKey(token) {
				return a.storeKey(ctx, token, source)
			}
		case methodJWT:
			if looksLikeJWT(token) {
				p, err := a.jwt.verify(ctx, token)
				if err != nil {
					return nil, a.reject(ctx, err, source, "")
				}
				return p, nil
			}
		case methodIntrospection:
			p, err := a.intro.verify(ctx, token)
			if err != nil {
				return nil, a.reject(ctx, err, source, "")
			}
			return p, nil
		}
	}
	return nil, a.reject(ctx, errNoMatch, source, "")
}

// storeKey verifies token against the key store.
func (a *authenticator) storeKey(ctx context.Context, token, source string) (*record.Principal, error) {
	if a.svc == nil || !keys.LooksLikeKey(token) {
		return nil, a.reject(ctx, errNoMatch, source, "")
	}
	rec, err := a.svc.Verify(ctx, token)
	if err == nil {
		// Models is shared with the key cache; the pipeline only reads it.
		return &record.Principal{Kind: kindAPIKey, ID: rec.ID, Name: rec.Name, Team: rec.Team, Models: rec.Models}, nil
	}
	id, _ := keys.PublicID(token)
	if errors.Is(err, keys.ErrInvalidKey) {
		return nil, a.reject(ctx, err, source, id)
	}
	a.log.LogAttrs(ctx, slog.LevelError, "api key store unavailable",
		slog.String("request_id", requestID(ctx)), slog.String("key_id", id), slog.Any("error", err))
	e := apierr.Wrap(err, http.StatusServiceUnavailable, apierr.TypeServer, "auth_unavailable",
		"Credentials cannot be checked right now; retry shortly.")
	e.RetryAfter = time.Second
	return nil, e
}

// reject logs the reason and returns the one public 401. The log line has
// the request ID, where the credential was found and, for a well-formed
// Rampart key, its public id; never the credential.
func (a *authenticator) reject(ctx context.Context, reason error, source, keyID string) error {
	level := slog.LevelInfo
	if errors.Is(reason, errNoCredential) || errors.Is(reason, errWrongScheme) {
		// Probes and misconfigured clients; not worth a line at info.
		level = slog.LevelDebug
	}
	if a.log.Enabled(ctx, level) {
		attrs := []slog.Attr{
			slog.String("request_id", requestID(ctx)),
			slog.String("reason", reason.Error()),
		}
		if source != "" {
			attrs = append(attrs, slog.String("source", source))
		}
		if keyID != "" {
			attrs = append(attrs, slog.String("key_id", keyID))
		}
		a.log.LogAttrs(ctx, level, "authentication failed", attrs...)
	}
	return apierr.Wrap(fmt.Errorf("authentication: %w", reason), http.StatusUnauthorized,
		apierr.TypeAuthentication, codeInvalidKey, messageInvalidKey)
}

// requestID returns the ID of the request being served, or "".
func requestID(ctx context.Context) string {
	if rec := record.From(ctx); rec != nil {
		return rec.ID
	}
	return ""
}

var _ Authenticator = (*authenticator)(nil)
