package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// UsageStore keeps usage counters per hour, principal, team and model.
type UsageStore interface {
	// Add adds the rows' counts to the stored ones, in one transaction.
	// Bucket must be the start of an hour; rows for the same bucket,
	// principal, team and model are summed.
	Add(ctx context.Context, rows []UsageRow) error
	// Query sums the counters that match q, grouped as q asks.
	Query(ctx context.Context, q UsageQuery) ([]UsageRow, error)
}

// UsageCounts are the counters of one group.
type UsageCounts struct {
	Requests         int64 `json:"requests"`
	Errors           int64 `json:"errors"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CachedTokens     int64 `json:"cached_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	ReasoningTokens  int64 `json:"reasoning_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
	// CostNanos is the cost in nano-units of the price table's currency.
	CostNanos int64 `json:"cost_nanos"`
}

// Add adds o to c.
func (c *UsageCounts) Add(o UsageCounts) {
	c.Requests += o.Requests
	c.Errors += o.Errors
	c.PromptTokens += o.PromptTokens
	c.CachedTokens += o.CachedTokens
	c.CompletionTokens += o.CompletionTokens
	c.ReasoningTokens += o.ReasoningTokens
	c.TotalTokens += o.TotalTokens
	c.CostNanos += o.CostNanos
}

// UsageRow is one group's counters: a bucket (zero time when the query
// asks for a total) and the dimensions the query groups by (empty
// otherwise).
type UsageRow struct {
	Bucket      time.Time `json:"bucket"`
	PrincipalID string    `json:"key,omitempty"`
	Team        string    `json:"team,omitempty"`
	Model       string    `json:"model,omitempty"`
	UsageCounts
}

// Granularities of a usage query.
const (
	GranularityHour  = "hour"
	GranularityDay   = "day"
	GranularityMonth = "month"
	GranularityTotal = "total"
)

// Usage dimensions to group by.
const (
	UsageByKey   = "key"
	UsageByTeam  = "team"
	UsageByModel = "model"
)

// MaxUsageRows bounds the rows a query returns.
const MaxUsageRows = 10000

// UsageQuery selects and groups usage by hour: the hours that start in
// [From rounded down to the hour, To). A zero To means now.
type UsageQuery struct {
	From, To    time.Time
	PrincipalID string
	Team        string
	Model       string
	// Granularity is hour, day, month (UTC) or total.
	Granularity string
	// GroupBy lists key, team and model; empty sums over all of them.
	GroupBy []string
}

// ErrTooManyRows is returned when a query would return more than
// MaxUsageRows rows: narrow it.
var ErrTooManyRows = errors.New("store: too many usage rows; narrow the query")

type sqlUsage struct{ db *sql.DB }

func (s *sqlUsage) Add(ctx context.Context, rows []UsageRow) error {
	if len(rows) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, usageUpsert)
	if err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	defer stmt.Close()
	for _, r := range rows {
		b := r.Bucket.UTC()
		if !b.Equal(b.Truncate(time.Hour)) {
			return fmt.Errorf("add usage: bucket %v is not the start of an hour", r.Bucket)
		}
		if _, err := stmt.ExecContext(ctx, b.UnixNano(), r.PrincipalID, r.Team, r.Model,
			r.Requests, r.Errors, r.PromptTokens, r.CachedTokens, r.CompletionTokens,
			r.ReasoningTokens, r.TotalTokens, r.CostNanos); err != nil {
			return fmt.Errorf("add usage: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add usage: %w", err)
	}
	return nil
}

// usageUpsert adds one row's counts to the stored ones. The PostgreSQL
// backend runs it renumbered for its $N placeholders (pgUsageUpsert).
const usageUpsert = `INSERT INTO usage_counters
(bucket, principal_id, team, model, requests, errors, prompt_tokens, cached_tokens,
 completion_tokens, reasoning_tokens, total_tokens, cost_nanos)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT (bucket, principal_id, team, model) DO UPDATE SET
 requests = usage_counters.requests + excluded.requests,
 errors = usage_counters.errors + excluded.errors,
 prompt_tokens = usage_counters.prompt_tokens + excluded.prompt_tokens,
 cached_tokens = usage_counters.cached_tokens + excluded.cached_tokens,
 completion_tokens = usage_counters.completion_tokens + excluded.completion_tokens,
 reasoning_tokens = usage_counters.reasoning_tokens + excluded.reasoning_tokens,
 total_tokens = usage_counters.total_tokens + excluded.total_tokens,
 cost_nanos = usage_counters.cost_nanos + excluded.cost_nanos`

func (s *sqlUsage) Query(ctx context.Context, q UsageQuery) ([]UsageRow, error) {
	return queryUsage(ctx, sqlConn{s.db}, q)
}

// queryUsage is Query on either backend: usageSQL's query of the hourly
// counters, folded into q's granularity by sumUsage.
func queryUsage(ctx context.Context, c conn, q UsageQuery) ([]UsageRow, error) {
	query, args, group, err := usageSQL(q)
	if err != nil {
		return nil, err
	}
	rows, err := c.query(ctx, c.placeholders(query), args...)
	if err != nil {
		return nil, fmt.Errorf("query usage: %w", err)
	}
	defer rows.Close()
	return sumUsage(rows, group, q.Granularity)
}

// maxHourRows bounds the hourly rows a usage query reads: a month of hours
// for each of MaxUsageRows groups.
const maxHourRows = MaxUsageRows * 31

// usageSQL builds the query of the hourly counters that match q, with ?
// placeholders, and the columns it groups by.
func usageSQL(q UsageQuery) (query string, args []any, group []string, err error) {
	cols := map[string]string{UsageByKey: "principal_id", UsageByTeam: "team", UsageByModel: "model"}
	by := map[string]bool{}
	for _, g := range q.GroupBy {
		c, ok := cols[g]
		if !ok {
			return "", nil, nil, fmt.Errorf("query usage: cannot group by %q (key, team or model)", g)
		}
		if !by[g] {
			by[g] = true
			group = append(group, c)
		}
	}
	switch q.Granularity {
	case "", GranularityHour, GranularityDay, GranularityMonth, GranularityTotal:
	default:
		return "", nil, nil, fmt.Errorf("query usage: granularity %q (hour, day, month or total)", q.Granularity)
	}
	// Hours that start before To count: the current hour is in a query
	// that ends now.
	to := q.To
	if to.IsZero() {
		to = time.Now()
	}
	where := []string{"bucket >= ?", "bucket < ?"}
	args = []any{q.From.UTC().Truncate(time.Hour).UnixNano(), to.UnixNano()}
	for _, f := range []struct{ col, val string }{{"principal_id", q.PrincipalID}, {"team", q.Team}, {"model", q.Model}} {
		if f.val != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.val)
		}
	}
	sel := append([]string{"bucket"}, group...)
	query = `SELECT ` + strings.Join(sel, ", ") + `, SUM(requests), SUM(errors), SUM(prompt_tokens),
 SUM(cached_tokens), SUM(completion_tokens), SUM(reasoning_tokens), SUM(total_tokens), SUM(cost_nanos)
FROM usage_counters WHERE ` + strings.Join(where, " AND ") + `
GROUP BY ` + strings.Join(sel, ", ") + ` ORDER BY bucket LIMIT ?`
	return query, append(args, maxHourRows+1), group, nil
}

// sumUsage folds the hourly rows of a usageSQL query into granularity,
// sorted by bucket, key, team and model.
func sumUsage(rows rowIter, group []string, granularity string) ([]UsageRow, error) {
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
		k := groupKey{bucket: truncateBucket(time.Unix(0, bucket).UTC(), granularity), key: r.PrincipalID, team: r.Team, model: r.Model}
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

// truncateBucket returns the start of the period of t as Unix nanoseconds,
// or 0 for a total.
func truncateBucket(t time.Time, granularity string) int64 {
	switch granularity {
	case GranularityDay:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).UnixNano()
	case GranularityMonth:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).UnixNano()
	case GranularityTotal:
		return 0
	}
	return t.Truncate(time.Hour).UnixNano()
}
