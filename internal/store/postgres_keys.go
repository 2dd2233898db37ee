package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgKeys implements KeyStore on PostgreSQL with the encoding of sqlKeys
// (JSON models, nanosecond timestamps), so scanKey reads both.
type pgKeys struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// Insert adds k. The store's clock sets UpdatedAt, so ChangedSince sees it.
func (s *pgKeys) Insert(ctx context.Context, k *KeyRecord) error {
	models, err := encodeModels(k.Models)
	if err != nil {
		return err
	}
	now := s.now()
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO api_keys (`+keyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Name, k.Team, models, k.Hash, k.CreatedAt.UnixNano(),
		nanos(k.ExpiresAt), nanos(k.RevokedAt), nanos(k.LastUsedAt), now.UnixNano())
	if err != nil {
		return fmt.Errorf("insert key %s: %w", k.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("insert key %s: %w", k.ID, ErrExists)
	}
	k.UpdatedAt = time.Unix(0, now.UnixNano())
	return nil
}

// Get returns one key.
func (s *pgKeys) Get(ctx context.Context, id string) (*KeyRecord, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("get key %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get key %s: %w", id, err)
	}
	return k, nil
}

// List returns every key, oldest first.
func (s *pgKeys) List(ctx context.Context) ([]*KeyRecord, error) {
	return s.query(ctx, "list keys",
		`SELECT `+keyColumns+` FROM api_keys ORDER BY created_at, id`)
}

// ChangedSince returns keys whose updated_at is at or after since.
func (s *pgKeys) ChangedSince(ctx context.Context, since time.Time) ([]*KeyRecord, error) {
	return s.query(ctx, "keys changed since",
		`SELECT `+keyColumns+` FROM api_keys WHERE updated_at >= $1 ORDER BY updated_at, id`,
		since.UnixNano())
}

// Revoke sets revoked_at once; a second revocation only bumps updated_at.
func (s *pgKeys) Revoke(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys
		SET revoked_at = COALESCE(revoked_at, $1), updated_at = $2 WHERE id = $3`,
		at.UnixNano(), s.now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("revoke key %s: %w", id, ErrNotFound)
	}
	return nil
}

// TouchLastUsed updates last_used_at for many keys in one transaction and
// one round trip. Rows are updated in id order, so that two instances
// flushing overlapping batches lock rows in the same order and never
// deadlock.
func (s *pgKeys) TouchLastUsed(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, id := range ids {
			b.Queue(`UPDATE api_keys SET last_used_at = $1
				WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`, used[id].UnixNano(), id)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return fmt.Errorf("touch keys: %w", err)
	}
	return nil
}

// query runs a SELECT of keyColumns and scans every row.
func (s *pgKeys) query(ctx context.Context, what, q string, args ...any) ([]*KeyRecord, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []*KeyRecord
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

var _ KeyStore = (*pgKeys)(nil)
