// Package store is Rampart's persistent store: API keys today, usage, audit
// and kill-switch state later. The embedded SQLite backend is the default; a
// PostgreSQL backend will implement the same interfaces, so the SQL kept here
// is portable (no SQLite-only types, timestamps as BIGINT nanoseconds, blobs
// as BLOB/BYTEA) and the interfaces stay small.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrExists is returned by Insert when a record with the same ID exists.
var ErrExists = errors.New("store: already exists")

// Store is a handle on the persistent store. It is safe for concurrent use.
type Store interface {
	// Keys returns the API key table.
	Keys() KeyStore
	// Audit returns the audit trail.
	Audit() AuditStore
	// Usage returns the usage counters.
	Usage() UsageStore
	// Kills returns the kill switch state.
	Kills() KillStore
	// Close releases the store. Calls after the first return nil.
	Close() error
}

// KeyStore persists API keys. It never sees a plaintext secret, only its
// hash.
type KeyStore interface {
	// Insert adds k and sets k.UpdatedAt (and k.CreatedAt when zero). It
	// returns ErrExists when k.ID is taken.
	Insert(ctx context.Context, k *KeyRecord) error
	// Get returns the key with this id, or ErrNotFound.
	Get(ctx context.Context, id string) (*KeyRecord, error)
	// List returns every key, revoked and expired ones included, oldest
	// first.
	List(ctx context.Context) ([]*KeyRecord, error)
	// Revoke marks the key revoked at the given time, or returns
	// ErrNotFound. Revoking a revoked key keeps the first revocation time.
	Revoke(ctx context.Context, id string, at time.Time) error
	// TouchLastUsed records the last-use times of many keys in one
	// transaction. A time earlier than the stored one is ignored, and ids
	// that do not exist are skipped. It does not change UpdatedAt, so that
	// traffic does not look like a change to other instances.
	TouchLastUsed(ctx context.Context, used map[string]time.Time) error
	// ChangedSince returns the keys inserted or revoked at or after since
	// (by UpdatedAt, the clock of the writing instance), oldest change
	// first. Instances poll it to invalidate their caches.
	ChangedSince(ctx context.Context, since time.Time) ([]*KeyRecord, error)
}

// KeyRecord is one API key as stored. Hash is the only trace of the secret.
type KeyRecord struct {
	// ID is the key's public identifier, part of the key itself.
	ID string
	// Name is a human label, such as "ci-pipeline".
	Name string
	// Team groups keys for policy and usage.
	Team string
	// Models restricts the key to these models (globs); empty means any.
	Models []string
	// Hash is the hash of the secret part of the key.
	Hash []byte
	// CreatedAt is when the key was created.
	CreatedAt time.Time
	// ExpiresAt, when set, is when the key stops working.
	ExpiresAt *time.Time
	// RevokedAt, when set, is when the key was revoked.
	RevokedAt *time.Time
	// LastUsedAt is the last use recorded (flushed in batches, so it may lag
	// by the flush interval).
	LastUsedAt *time.Time
	// UpdatedAt is when the key was last inserted or revoked, by the clock of
	// the instance that wrote it.
	UpdatedAt time.Time
}
