package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
)

// keyTable implements the KeyStore methods whose SQL is the same on both
// backends: portable SQL ($N placeholders, BIGINT nanosecond timestamps,
// ON CONFLICT) run through a conn. Each backend adds its own
// TouchLastUsed, which batches the updates in its own way.
type keyTable struct {
	c   conn
	now func() time.Time
}

// sqlKeys implements KeyStore on SQLite.
type sqlKeys struct {
	keyTable
	db *sql.DB
}

const keyColumns = `id, name, team, models, hash, created_at, expires_at, revoked_at, last_used_at, updated_at`

// Insert adds k. The store's clock sets UpdatedAt, so ChangedSince sees it.
func (s *keyTable) Insert(ctx context.Context, k *KeyRecord) error {
	models, err := encodeModels(k.Models)
	if err != nil {
		return err
	}
	now := s.now()
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now
	}
	n, err := s.c.exec(ctx, `INSERT INTO api_keys (`+keyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Name, k.Team, models, k.Hash, k.CreatedAt.UnixNano(),
		nanos(k.ExpiresAt), nanos(k.RevokedAt), nanos(k.LastUsedAt), now.UnixNano())
	if err != nil {
		return fmt.Errorf("insert key %s: %w", k.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("insert key %s: %w", k.ID, ErrExists)
	}
	k.UpdatedAt = time.Unix(0, now.UnixNano())
	return nil
}

// Get returns one key.
func (s *keyTable) Get(ctx context.Context, id string) (*KeyRecord, error) {
	k, err := scanKey(s.c.queryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = $1`, id))
	if s.c.noRows(err) {
		return nil, fmt.Errorf("get key %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get key %s: %w", id, err)
	}
	return k, nil
}

// List returns every key, oldest first.
func (s *keyTable) List(ctx context.Context) ([]*KeyRecord, error) {
	return s.query(ctx, "list keys",
		`SELECT `+keyColumns+` FROM api_keys ORDER BY created_at, id`)
}

// ChangedSince returns keys whose updated_at is at or after since.
func (s *keyTable) ChangedSince(ctx context.Context, since time.Time) ([]*KeyRecord, error) {
	return s.query(ctx, "keys changed since",
		`SELECT `+keyColumns+` FROM api_keys WHERE updated_at >= $1 ORDER BY updated_at, id`,
		since.UnixNano())
}

// Revoke sets revoked_at once; a second revocation only bumps updated_at,
// which is harmless and keeps the call idempotent.
func (s *keyTable) Revoke(ctx context.Context, id string, at time.Time) error {
	n, err := s.c.exec(ctx, `UPDATE api_keys
		SET revoked_at = COALESCE(revoked_at, $1), updated_at = $2 WHERE id = $3`,
		at.UnixNano(), s.now().UnixNano(), id)
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("revoke key %s: %w", id, ErrNotFound)
	}
	return nil
}

// TouchLastUsed updates last_used_at for many keys in one transaction: one
// fsync for the whole batch.
func (s *sqlKeys) TouchLastUsed(ctx context.Context, used map[string]time.Time) (err error) {
	if len(used) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("touch keys: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	stmt, err := tx.PrepareContext(ctx, `UPDATE api_keys SET last_used_at = $1
		WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)`)
	if err != nil {
		return fmt.Errorf("touch keys: %w", err)
	}
	defer stmt.Close()
	for id, at := range used {
		if _, err = stmt.ExecContext(ctx, at.UnixNano(), id); err != nil {
			return fmt.Errorf("touch key %s: %w", id, err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("touch keys: %w", err)
	}
	return nil
}

// query runs a SELECT of keyColumns and scans every row.
func (s *keyTable) query(ctx context.Context, what, q string, args ...any) ([]*KeyRecord, error) {
	rows, err := s.c.query(ctx, q, args...)
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

// scanKey reads one row of keyColumns.
func scanKey(sc scanner) (*KeyRecord, error) {
	var (
		k                          KeyRecord
		models                     string
		created, updated           int64
		expires, revoked, lastUsed sql.NullInt64
	)
	err := sc.Scan(&k.ID, &k.Name, &k.Team, &models, &k.Hash, &created,
		&expires, &revoked, &lastUsed, &updated)
	if err != nil {
		return nil, err
	}
	if k.Models, err = decodeModels(models); err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, err)
	}
	k.CreatedAt = time.Unix(0, created)
	k.UpdatedAt = time.Unix(0, updated)
	k.ExpiresAt = timePtr(expires)
	k.RevokedAt = timePtr(revoked)
	k.LastUsedAt = timePtr(lastUsed)
	return &k, nil
}

// encodeModels stores the model list as a JSON array of strings.
func encodeModels(models []string) (string, error) {
	if len(models) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(models)
	if err != nil {
		return "", fmt.Errorf("encode models: %w", err)
	}
	return string(b), nil
}

// decodeModels reads the JSON array; an empty list is nil.
func decodeModels(s string) ([]string, error) {
	var models []string
	if err := json.Unmarshal([]byte(s), &models); err != nil {
		return nil, fmt.Errorf("decode models: %w", err)
	}
	if len(models) == 0 {
		return nil, nil
	}
	return models, nil
}

// nanos converts an optional time to a nullable column value.
func nanos(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// timePtr converts a nullable column value to an optional time.
func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.Unix(0, n.Int64)
	return &t
}

var _ KeyStore = (*sqlKeys)(nil)
