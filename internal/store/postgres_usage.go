package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgUsage implements UsageStore on PostgreSQL.
type pgUsage struct{ pool *pgxpool.Pool }

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
		b.Queue(`INSERT INTO usage_counters
(bucket, principal_id, team, model, requests, errors, prompt_tokens, cached_tokens,
 completion_tokens, reasoning_tokens, total_tokens, cost_nanos)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
ON CONFLICT (bucket, principal_id, team, model) DO UPDATE SET
 requests = usage_counters.requests + excluded.requests,
 errors = usage_counters.errors + excluded.errors,
 prompt_tokens = usage_counters.prompt_tokens + excluded.prompt_tokens,
 cached_tokens = usage_counters.cached_tokens + excluded.cached_tokens,
 completion_tokens = usage_counters.completion_tokens + excluded.completion_tokens,
 reasoning_tokens = usage_counters.reasoning_tokens + excluded.reasoning_tokens,
 total_tokens = usage_counters.total_tokens + excluded.total_tokens,
 cost_nanos = usage_counters.cost_nanos + excluded.cost_nanos`,
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
	cols := map[string]string{UsageByKey: "principal_id", UsageByTeam: "team", UsageByModel: "model"}
	var group []string
	by := map[string]bool{}
	for _, g := range q.GroupBy {
		c, ok := cols[g]
		if !ok {
			return nil, fmt.Errorf("query usage: cannot group by %q (key, team or model)", g)
		}
		if !by[g] {
			by[g] = true
			group = append(group, c)
		}
	}
	switch q.Granularity {
	case "", GranularityHour, GranularityDay, GranularityMonth, GranularityTotal:
	default:
		return nil, fmt.Errorf("query usage: granularity %q (hour, day, month or total)", q.Granularity)
	}
	to := q.To
	if to.IsZero() {
		to = time.Now()
	}
	where := []string{"bucket >= $1", "bucket < $2"}
	args := []any{q.From.UTC().Truncate(time.Hour).UnixNano(), to.UnixNano()}
	for _, f := range []struct{ col, val string }{{"principal_id", q.PrincipalID}, {"team", q.Team}, {"model", q.Model}} {
		if f.val != "" {
			args = append(args, f.val)
			where = append(where, fmt.Sprintf("%s = $%d", f.col, len(args)))
		}
	}
	const maxHourRows = MaxUsageRows * 31
	sel := append([]string{"bucket"}, group...)
	args = append(args, maxHourRows+1)
	query := `SELECT ` + strings.Join(sel, ", ") + `, SUM(requests), SUM(errors), SUM(prompt_tokens),
 SUM(cached_tokens), SUM(completion_tokens), SUM(reasoning_tokens), SUM(total_tokens), SUM(cost_nanos)
FROM usage_counters WHERE ` + strings.Join(where, " AND ") + `
GROUP BY ` + strings.Join(sel, ", ") + ` ORDER BY bucket LIMIT $` + fmt.Sprint(len(args))
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query usage: %w", err)
	}
	defer rows.Close()
	type groupKey struct {
		bucket           int64
		key, team, model string
	}
	sums := map[groupKey]*UsageRow{}
	var order []groupKey
	n := 0
	for rows.Next() {
		if n++; n > maxHourRows {
			return nil, ErrTooManyRows
		}
		var bucket int64
		var r UsageRow
		dest := []any{&bucket}
		for _, c := range group {
			switch c {
			case "principal_id":
				dest = append(dest, &r.PrincipalID)
			case "team":
				dest = append(dest, &r.Team)
			case "model":
				dest = append(dest, &r.Model)
			}
		}
		dest = append(dest, &r.Requests, &r.Errors, &r.PromptTokens, &r.CachedTokens,
			&r.CompletionTokens, &r.ReasoningTokens, &r.TotalTokens, &r.CostNanos)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("query usage: %w", err)
		}
		k := groupKey{bucket: truncateBucket(time.Unix(0, bucket).UTC(), q.Granularity), key: r.PrincipalID, team: r.Team, model: r.Model}
		if s, ok := sums[k]; ok {
			s.UsageCounts.Add(r.UsageCounts)
			continue
		}
		if len(sums) >= MaxUsageRows {
			return nil, ErrTooManyRows
		}
		if k.bucket != 0 {
			r.Bucket = time.Unix(0, k.bucket).UTC()
		}
		sums[k] = &r
		order = append(order, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query usage: %w", err)
	}
	out := make([]UsageRow, 0, len(order))
	for _, k := range order {
		out = append(out, *sums[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Bucket.Equal(b.Bucket) {
			return a.Bucket.Before(b.Bucket)
		}
		if a.PrincipalID != b.PrincipalID {
			return a.PrincipalID < b.PrincipalID
		}
		if a.Team != b.Team {
			return a.Team < b.Team
		}
		return a.Model < b.Model
	})
	return out, nil
}

var _ UsageStore = (*pgUsage)(nil)
