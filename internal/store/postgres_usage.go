package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgUsage implements UsageStore on PostgreSQL.
type pgUsage struct{ pool *pgxpool.Pool }

// pgUsageUpsert is usageUpsert with PostgreSQL's placeholders.
var pgUsageUpsert = pgPlaceholders(usageUpsert)

// Add sums rows into the stored counters in one transaction and one round
// trip. Rows are upserted in key order, so that instances flushing at the
// same moment lock rows in the same order and never deadlock.
func (s *pgUsage) Add(ctx context.Context, rows []UsageRow) error {
	if len(rows) == 0 {
		return nil
	}
	sorted := slices.Clone(rows)
	for i := range sorted {
		b := sorted[i].Bucket.UTC()
		if !b.Equal(b.Truncate(time.Hour)) {
			return fmt.Errorf("add usage: bucket %v is not the start of an hour", sorted[i].Bucket)
		}
		sorted[i].Bucket = b
	}
	slices.SortStableFunc(sorted, func(a, b UsageRow) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), cmp.Compare(a.PrincipalID, b.PrincipalID),
			cmp.Compare(a.Team, b.Team), cmp.Compare(a.Model, b.Model))
	})
	var b pgx.Batch
	for _, r := range sorted {
		b.Queue(pgUsageUpsert,
			r.Bucket.UnixNano(), pgText(r.PrincipalID), pgText(r.Team), pgText(r.Model),
			r.Requests, r.Errors, r.PromptTokens, r.CachedTokens, r.CompletionTokens,
			r.ReasoningTokens, r.TotalTokens, r.CostNanos)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	return nil
}

// Query sums the hourly counters that match q, then folds the hours into
// q's granularity as SQLite's Query does.
func (s *pgUsage) Query(ctx context.Context, q UsageQuery) ([]UsageRow, error) {
	return queryUsage(ctx, pgConn{s.pool}, q)
}

var _ UsageStore = (*pgUsage)(nil)
