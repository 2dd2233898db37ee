package keys

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

// Verify checks an API key and returns its record. Every rejection is
// ErrInvalidKey, with the reason (ErrMalformed, ErrUnknownKey, ...) wrapped
// inside for the log; any other error is a store failure.
//
// A cached key costs no store read and no allocation. The returned record is
// shared with the cache and must not be modified.
func (s *Service) Verify(ctx context.Context, token string) (*store.KeyRecord, error) {
	id, secret, ok := parseToken(token)
	if !ok {
		return nil, errMalformed
	}
	now := s.opts.Now().UnixNano()
	e := s.cache.get(id)
	if e == nil || !s.fresh(e, now) {
		var err error
		if e, err = s.load(ctx, id, now, e == nil); err != nil {
			return nil, err
		}
	}
	return check(e, id, secret, now)
}

// fresh reports whether e may be trusted without asking the store: it was
// read, or the cache was last refreshed, less than CacheTTL ago.
func (s *Service) fresh(e *entry, now int64) bool {
	ttl := int64(s.opts.CacheTTL)
	return now-e.loaded < ttl || now-s.cache.synced.Load() < ttl
}

// load reads id from the store into the cache. Unknown ids are remembered
// for CacheTTL, and reads for ids never seen are rate-limited.
func (s *Service) load(ctx context.Context, id string, now int64, unseen bool) (*entry, error) {
	if s.cache.unknownUntil(id) > now {
		return nil, errUnknown
	}
	if unseen && !s.misses.allow(now) {
		return nil, errThrottled
	}
	rec, err := s.st.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s.cache.remember(id, now+int64(s.opts.CacheTTL), now)
		return nil, errUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("verify key %s: %w", id, err)
	}
	e := newEntry(rec, time.Unix(0, now))
	s.cache.put(e)
	return e, nil
}

// check compares the secret in constant time, then the key's state. The
// secret is checked first so that revocation and expiry are only disclosed
// (even to the log) to someone who holds the key.
func check(e *entry, id, secret string, now int64) (*store.KeyRecord, error) {
	sum := hashSecret(id, secret)
	if subtle.ConstantTimeCompare(sum[:], e.hash[:]) != 1 {
		return nil, errWrongSecret
	}
	if e.revoked {
		return nil, errRevoked
	}
	if e.expires != 0 && now >= e.expires {
		return nil, errExpired
	}
	e.used.touch(now)
	return e.rec, nil
}
