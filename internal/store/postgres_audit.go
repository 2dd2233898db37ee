package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgAudit implements AuditStore on PostgreSQL. Its filters and order are
// SQLite's (auditWhere, auditOrder), renumbered for PostgreSQL's $N
// placeholders.
type pgAudit struct{ pool *pgxpool.Pool }

// Insert writes rs and their content in one transaction and one round
// trip; request IDs already stored are skipped.
func (s *pgAudit) Insert(ctx context.Context, rs []*AuditRecord) error {
	if len(rs) == 0 {
		return nil
	}
	var b pgx.Batch
	for _, r := range rs {
		vj, err := encodeVerdicts(r.Verdicts)
		if err != nil {
			return fmt.Errorf("insert audit: %w", err)
		}
		b.Queue(`INSERT INTO audit_records (`+auditColumns+`)
VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27)
ON CONFLICT (request_id) DO NOTHING`,
			pgText(r.RequestID), r.Time.UnixNano(),
			pgText(r.Principal.Kind), pgText(r.Principal.ID), pgText(r.Principal.Name), pgText(r.Principal.Team),
			pgText(r.ClientIP), pgText(r.Method), pgText(r.Path), pgText(r.Route), pgText(r.ModelRequested),
			pgText(r.ModelServed), pgText(r.Upstream), r.Attempts, r.Stream, r.Status, pgText(r.Outcome),
			pgText(r.ErrorCode), vj,
			r.Usage.PromptTokens, r.Usage.CompletionTokens, r.Usage.ReasoningTokens,
			r.Usage.CachedTokens, r.Usage.TotalTokens, int64(r.TTFT), int64(r.Duration), int64(r.GatewayTime))
		if c := r.Content; c != nil {
			b.Queue(`INSERT INTO audit_content (request_id, ts, prompt, response, bytes)
VALUES ($1,$2,$3,$4,$5) ON CONFLICT (request_id) DO NOTHING`,
				pgText(r.RequestID), r.Time.UnixNano(), pgText(c.Prompt), pgText(c.Response), int64(len(c.Prompt)+len(c.Response)))
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return fmt.Errorf("insert audit: %w", err)
	}
	return nil
}

// Query returns one page of matching records, oldest first (newest first
// with f.Newest).
func (s *pgAudit) Query(ctx context.Context, f AuditFilter) ([]*AuditRecord, string, error) {
	return queryAudit(ctx, pgConn{s.pool}, f, pgScanAudit, s.attachContent)
}

// pgPlaceholders numbers the ? placeholders of q as $1, $2, ... The
// fragments it is given are constant SQL whose only ? are placeholders:
// every value, including LIKE patterns, is an argument.
func pgPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pgScanAudit reads one row of auditColumns.
func pgScanAudit(rows rowIter) (*AuditRecord, error) {
	var r AuditRecord
	var ts, ttft, dur, gw int64
	var vj string
	if err := rows.Scan(&r.RequestID, &ts, &r.Principal.Kind, &r.Principal.ID,
		&r.Principal.Name, &r.Principal.Team, &r.ClientIP, &r.Method, &r.Path,
		&r.Route, &r.ModelRequested, &r.ModelServed, &r.Upstream, &r.Attempts,
		&r.Stream, &r.Status, &r.Outcome, &r.ErrorCode, &vj,
		&r.Usage.PromptTokens, &r.Usage.CompletionTokens, &r.Usage.ReasoningTokens,
		&r.Usage.CachedTokens, &r.Usage.TotalTokens, &ttft, &dur, &gw); err != nil {
		return nil, err
	}
	r.Time = time.Unix(0, ts).UTC()
	r.TTFT, r.Duration, r.GatewayTime = time.Duration(ttft), time.Duration(dur), time.Duration(gw)
	if err := json.Unmarshal([]byte(vj), &r.Verdicts); err != nil {
		return nil, fmt.Errorf("verdicts of %s: %w", r.RequestID, err)
	}
	return &r, nil
}

// attachContent fills the content of the records that have some.
func (s *pgAudit) attachContent(ctx context.Context, rs []*AuditRecord) error {
	if len(rs) == 0 {
		return nil
	}
	byID := make(map[string]*AuditRecord, len(rs))
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		byID[r.RequestID] = r
		ids = append(ids, r.RequestID)
	}
	rows, err := s.pool.Query(ctx, `SELECT request_id, prompt, response FROM audit_content WHERE request_id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("query audit content: %w", err)
	}
	defer rows.Close()
	if err := scanContent(rows, byID); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query audit content: %w", err)
	}
	return nil
}

// Purge deletes up to limit records older than before.
func (s *pgAudit) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM audit_records WHERE request_id IN
(SELECT request_id FROM audit_records WHERE ts < $1 ORDER BY ts LIMIT $2)`, before.UnixNano(), limit)
	if err != nil {
		return 0, fmt.Errorf("purge audit: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// PurgeContent deletes up to limit captured contents: first those older
// than before, then, while the content kept is over maxBytes (0: no cap),
// the oldest. Each step is one statement.
func (s *pgAudit) PurgeContent(ctx context.Context, before time.Time, maxBytes int64, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM audit_content WHERE request_id IN
(SELECT request_id FROM audit_content WHERE ts < $1 ORDER BY ts LIMIT $2)`, before.UnixNano(), limit)
	if err != nil {
		return 0, fmt.Errorf("purge audit content: %w", err)
	}
	n := int(tag.RowsAffected())
	if maxBytes <= 0 || n >= limit {
		return n, nil
	}
	// The oldest rows go while the bytes of the rows before them (in age
	// order) have not yet covered the excess over the cap.
	tag, err = s.pool.Exec(ctx, `WITH total AS (SELECT COALESCE(SUM(bytes), 0) AS t FROM audit_content),
oldest AS (
  SELECT request_id, SUM(bytes) OVER (ORDER BY ts, request_id ROWS UNBOUNDED PRECEDING) - bytes AS freed_before
  FROM audit_content ORDER BY ts, request_id LIMIT $2)
DELETE FROM audit_content WHERE request_id IN
(SELECT request_id FROM oldest, total WHERE oldest.freed_before < total.t - $1)`, maxBytes, limit-n)
	if err != nil {
		return n, fmt.Errorf("purge audit content: %w", err)
	}
	return n + int(tag.RowsAffected()), nil
}

var _ AuditStore = (*pgAudit)(nil)
