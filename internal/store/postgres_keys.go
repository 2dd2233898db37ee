package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgKeys implements KeyStore on PostgreSQL: keyTable's SQL and encoding
// (JSON models, nanosecond timestamps), so scanKey reads both backends.
type pgKeys struct {
	keyTable
	pool *pgxpool.Pool
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

var _ KeyStore = (*pgKeys)(nil)
