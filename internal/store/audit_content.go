package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// AuditContent is the captured prompt and answer of a request, after DLP
// masking. It exists only when content capture is on.
type AuditContent struct {
	Prompt   string `json:"prompt"`
	Response string `json:"response"`
}

// insertContent writes the content of rs within tx.
func insertContent(ctx context.Context, tx *sql.Tx, rs []*AuditRecord) error {
	var stmt *sql.Stmt
	for _, r := range rs {
		if r.Content == nil {
			continue
		}
		if stmt == nil {
			var err error
			if stmt, err = tx.PrepareContext(ctx, `INSERT INTO audit_content (request_id, ts, prompt, response, bytes)
VALUES (?,?,?,?,?) ON CONFLICT (request_id) DO NOTHING`); err != nil {
				return err
			}
			defer stmt.Close()
		}
		c := r.Content
		if _, err := stmt.ExecContext(ctx, r.RequestID, r.Time.UnixNano(), c.Prompt, c.Response,
			int64(len(c.Prompt)+len(c.Response))); err != nil {
			return err
		}
	}
	return nil
}

// attachContent fills the content of the records that have some.
func (s *sqlAudit) attachContent(ctx context.Context, rs []*AuditRecord) error {
	if len(rs) == 0 {
		return nil
	}
	byID := make(map[string]*AuditRecord, len(rs))
	args := make([]any, 0, len(rs))
	for _, r := range rs {
		byID[r.RequestID] = r
		args = append(args, r.RequestID)
	}
	q := `SELECT request_id, prompt, response FROM audit_content WHERE request_id IN (?` +
		strings.Repeat(`,?`, len(rs)-1) + `)`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query audit content: %w", err)
	}
	defer rows.Close()
	if err := scanContent(rows, byID); err != nil {
		return err
	}
	return rows.Err()
}

// scanContent reads the rows of a query of request_id, prompt and response
// from audit_content into the records of byID. It leaves rows.Err to the
// caller.
func scanContent(rows rowIter, byID map[string]*AuditRecord) error {
	for rows.Next() {
		var id string
		var c AuditContent
		if err := rows.Scan(&id, &c.Prompt, &c.Response); err != nil {
			return fmt.Errorf("query audit content: %w", err)
		}
		if r := byID[id]; r != nil {
			r.Content = &c
		}
	}
	return nil
}

// PurgeContent deletes up to limit captured contents: first those older
// than before, then, while the content kept is over maxBytes (0: no cap),
// the oldest. It returns how many it deleted.
func (s *sqlAudit) PurgeContent(ctx context.Context, before time.Time, maxBytes int64, limit int) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM audit_content WHERE request_id IN
(SELECT request_id FROM audit_content WHERE ts < ? ORDER BY ts LIMIT ?)`, before.UnixNano(), limit)
	if err != nil {
		return 0, fmt.Errorf("purge audit content: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge audit content: %w", err)
	}
	if maxBytes <= 0 || int(n) >= limit {
		return int(n), nil
	}
	var total int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(bytes), 0) FROM audit_content`).Scan(&total); err != nil {
		return int(n), fmt.Errorf("purge audit content: %w", err)
	}
	if total <= maxBytes {
		return int(n), nil
	}
	// Delete the oldest rows whose running total covers the excess.
	excess := total - maxBytes
	rows, err := s.db.QueryContext(ctx, `SELECT request_id, bytes FROM audit_content ORDER BY ts, request_id LIMIT ?`, limit-int(n))
	if err != nil {
		return int(n), fmt.Errorf("purge audit content: %w", err)
	}
	var ids []any
	var freed int64
	for rows.Next() && freed < excess {
		var id string
		var b int64
		if err := rows.Scan(&id, &b); err != nil {
			rows.Close()
			return int(n), fmt.Errorf("purge audit content: %w", err)
		}
		ids = append(ids, id)
		freed += b
	}
	rows.Close()
	if len(ids) == 0 {
		return int(n), nil
	}
	res, err = s.db.ExecContext(ctx, `DELETE FROM audit_content WHERE request_id IN (?`+strings.Repeat(`,?`, len(ids)-1)+`)`, ids...)
	if err != nil {
		return int(n), fmt.Errorf("purge audit content: %w", err)
	}
	m, _ := res.RowsAffected()
	return int(n + m), nil
}
