package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

// createAttempts bounds retries on an id collision, which with 60 random
// bits only a broken random source would cause.
const createAttempts = 3

// Create makes a new key and returns its plaintext, which is never stored
// and cannot be shown again.
func (s *Service) Create(ctx context.Context, in CreateInput) (plaintext string, rec *store.KeyRecord, err error) {
	if err := in.validate(); err != nil {
		return "", nil, err
	}
	now := s.opts.Now()
	var expires *time.Time
	if in.ExpiresIn > 0 {
		t := now.Add(in.ExpiresIn)
		expires = &t
	}
	for range createAttempts {
		token, id, secret := newToken()
		h := hashSecret(id, secret)
		rec := &store.KeyRecord{
			ID: id, Name: in.Name, Team: in.Team, Models: slices.Clone(in.Models),
			Hash: h[:], CreatedAt: now, ExpiresAt: expires,
		}
		err := s.st.Insert(ctx, rec)
		if errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("create key: %w", err)
		}
		s.cache.put(newEntry(clone(rec), now))
		s.log.LogAttrs(ctx, slog.LevelInfo, "api key created", slog.String("key_id", id),
			slog.String("name", rec.Name), slog.String("team", rec.Team))
		return token, rec, nil
	}
	return "", nil, fmt.Errorf("create key: %d id collisions in a row", createAttempts)
}

// Revoke revokes the key with this id. It takes effect at once on this
// instance and within CacheTTL on the others. Revoking a revoked key is not
// an error.
func (s *Service) Revoke(ctx context.Context, id string) error {
	now := s.opts.Now()
	// The store's error already names the operation and the id.
	if err := s.st.Revoke(ctx, id, now); err != nil {
		return err
	}
	s.reload(ctx, id, now)
	s.log.LogAttrs(ctx, slog.LevelInfo, "api key revoked", slog.String("key_id", id))
	return nil
}

// reload refreshes the cached entry of id from the store. If that fails the
// entry is dropped, so the next Verify reads the store.
func (s *Service) reload(ctx context.Context, id string, now time.Time) {
	rec, err := s.st.Get(ctx, id)
	if err != nil {
		s.cache.mu.Lock()
		delete(s.cache.m, id)
		s.cache.mu.Unlock()
		return
	}
	s.cache.put(newEntry(rec, now))
}

// Rotate replaces a key: a new key with the same name, team, models and
// lifetime is created, then the old one is revoked. A revoked key cannot be
// rotated (ErrAlreadyRevoked).
func (s *Service) Rotate(ctx context.Context, id string) (plaintext string, rec *store.KeyRecord, err error) {
	old, err := s.st.Get(ctx, id)
	if err != nil {
		return "", nil, fmt.Errorf("rotate key: %w", err)
	}
	if old.RevokedAt != nil {
		return "", nil, fmt.Errorf("rotate key %s: %w", id, ErrAlreadyRevoked)
	}
	in := CreateInput{Name: old.Name, Team: old.Team, Models: old.Models}
	if old.ExpiresAt != nil {
		in.ExpiresIn = max(old.ExpiresAt.Sub(old.CreatedAt), time.Second)
	}
	plaintext, rec, err = s.Create(ctx, in)
	if err != nil {
		return "", nil, fmt.Errorf("rotate key %s: %w", id, err)
	}
	if err := s.Revoke(ctx, id); err != nil {
		// Without this, a failed rotation would leave two live keys.
		if rerr := s.Revoke(ctx, rec.ID); rerr != nil {
			s.log.Error("rotate: could not revoke the new key after a failure",
				slog.String("key_id", rec.ID), slog.Any("error", rerr))
		}
		return "", nil, fmt.Errorf("rotate key %s: %w", id, err)
	}
	return plaintext, rec, nil
}

// List returns every key, revoked and expired ones included, with last-use
// times that may not have been flushed yet.
func (s *Service) List(ctx context.Context) ([]*store.KeyRecord, error) {
	all, err := s.st.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	for _, k := range all {
		if n := s.cache.lastUsed(k.ID); n != 0 && (k.LastUsedAt == nil || k.LastUsedAt.UnixNano() < n) {
			t := time.Unix(0, n)
			k.LastUsedAt = &t
		}
	}
	return all, nil
}

// Get returns one key.
func (s *Service) Get(ctx context.Context, id string) (*store.KeyRecord, error) {
	return s.st.Get(ctx, id)
}
