package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/rampart-gw/rampart/internal/record"
)

// AuditStore persists the audit trail: one row per request.
type AuditStore interface {
	// Insert writes rs in one transaction. A record whose request ID is
	// already stored is skipped, so that replaying a spool is idempotent.
	Insert(ctx context.Context, rs []*AuditRecord) error
	// Query returns the records matching f, oldest first (newest first
	// with f.Newest), and the cursor of the next page ("" on the last
	// page).
	Query(ctx context.Context, f AuditFilter) ([]*AuditRecord, string, error)
	// Purge deletes up to limit records older than before and returns how
	// many it deleted.
	Purge(ctx context.Context, before time.Time, limit int) (int, error)
	// PurgeContent deletes up to limit captured contents older than
	// before, then the oldest while more than maxBytes are kept.
	PurgeContent(ctx context.Context, before time.Time, maxBytes int64, limit int) (int, error)
}

// AuditRecord is one request as the audit trail keeps it. It holds no
// credential; it holds prompt and answer text only when content capture is
// on, and then only after DLP masking.
type AuditRecord struct {
	RequestID      string           `json:"request_id"`
	Time           time.Time        `json:"time"`
	Principal      AuditPrincipal   `json:"principal"`
	ClientIP       string           `json:"client_ip"`
	Method         string           `json:"method"`
	Path           string           `json:"path"`
	Route          string           `json:"route,omitempty"`
	ModelRequested string           `json:"model_requested,omitempty"`
	ModelServed    string           `json:"model_served,omitempty"`
	Upstream       string           `json:"upstream,omitempty"`
	Attempts       int              `json:"attempts"`
	Stream         bool             `json:"stream"`
	Status         int              `json:"status"`
	Outcome        string           `json:"outcome"`
	ErrorCode      string           `json:"error_code,omitempty"`
	Verdicts       []record.Verdict `json:"verdicts"`
	Usage          record.Usage     `json:"usage"`
	TTFT           time.Duration    `json:"ttft_ns"`
	Duration       time.Duration    `json:"duration_ns"`
	// GatewayTime is the time before the first upstream call; 0 when no
	// upstream was called.
	GatewayTime time.Duration `json:"gateway_ns"`
	// Content is the captured prompt and answer, masked; nil unless
	// content capture is on (and, from Query, unless asked for).
	Content *AuditContent `json:"content,omitempty"`
}

// AuditPrincipal is the caller of an audited request.
type AuditPrincipal struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Team string `json:"team,omitempty"`
}

// AuditFilter selects audit records. Zero fields do not filter.
type AuditFilter struct {
	From, To    time.Time // From inclusive, To exclusive
	PrincipalID string
	Model       string // requested or served
	Status      int
	Outcome     string
	Verdict     string // a verdict's stage or rule
	RequestID   string
	Limit       int    // default 100, at most 1000
	Cursor      string // from a previous Query
	// WithContent also returns the captured content of the records.
	WithContent bool
	// Newest returns the newest records first; its cursors continue to
	// older records and are refused by the oldest-first order, and the
	// other way round.
	Newest bool
}

// Default and maximum page sizes of Query.
const (
	auditDefaultLimit = 100
	auditMaxLimit     = 1000
)

// ErrBadCursor is returned by Query for a cursor it did not issue.
var ErrBadCursor = errors.New("store: bad cursor")

const auditColumns = `request_id, ts, principal_kind, principal_id, principal_name,
principal_team, client_ip, method, path, route, model_requested, model_served,
upstream, attempts, stream, status, outcome, error_code, verdicts,
prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens,
total_tokens, ttft_ns, duration_ns, gateway_ns`

type sqlAudit struct{ db *sql.DB }

func (s *sqlAudit) Insert(ctx context.Context, rs []*AuditRecord) error {
	if len(rs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert audit: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_records (`+auditColumns+`)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT (request_id) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("insert audit: %w", err)
	}
	defer stmt.Close()
	for _, r := range rs {
		vj, err := encodeVerdicts(r.Verdicts)
		if err != nil {
			return fmt.Errorf("insert audit: %w", err)
		}
		stream := 0
		if r.Stream {
			stream = 1
		}
		if _, err := stmt.ExecContext(ctx, r.RequestID, r.Time.UnixNano(),
			r.Principal.Kind, r.Principal.ID, r.Principal.Name, r.Principal.Team,
			r.ClientIP, r.Method, r.Path, r.Route, r.ModelRequested, r.ModelServed,
			r.Upstream, r.Attempts, stream, r.Status, r.Outcome, r.ErrorCode, vj,
			r.Usage.PromptTokens, r.Usage.CompletionTokens, r.Usage.ReasoningTokens,
			r.Usage.CachedTokens, r.Usage.TotalTokens, int64(r.TTFT), int64(r.Duration), int64(r.GatewayTime)); err != nil {
			return fmt.Errorf("insert audit: %w", err)
		}
	}
	if err := insertContent(ctx, tx, rs); err != nil {
		return fmt.Errorf("insert audit content: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insert audit: %w", err)
	}
	return nil
}

func (s *sqlAudit) Query(ctx context.Context, f AuditFilter) ([]*AuditRecord, string, error) {
	return queryAudit(ctx, sqlConn{s.db}, f, scanAudit, s.attachContent)
}

// queryAudit is Query on either backend: scan reads one row of
// auditColumns as c returns it, and attach fills in the content of the
// page's records when f asks for it.
func queryAudit(ctx context.Context, c conn, f AuditFilter, scan func(rowIter) (*AuditRecord, error),
	attach func(context.Context, []*AuditRecord) error) ([]*AuditRecord, string, error) {
	where, args, err := auditWhere(f)
	if err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = auditDefaultLimit
	}
	limit = min(limit, auditMaxLimit)
	q := `SELECT ` + auditColumns + ` FROM audit_records`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += auditOrder(f) + ` LIMIT ?`
	rows, err := c.query(ctx, c.placeholders(q), append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("query audit: %w", err)
	}
	defer rows.Close()
	out, next, err := auditPage(rows, scan, limit, f.Newest)
	if err != nil {
		return nil, "", err
	}
	if f.WithContent {
		if err := attach(ctx, out); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// encodeVerdicts stores the verdicts as a JSON array, [] when there are
// none: auditWhere's LIKE patterns search that text.
func encodeVerdicts(vs []record.Verdict) (string, error) {
	if vs == nil {
		vs = []record.Verdict{}
	}
	b, err := json.Marshal(vs)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// auditWhere turns f into SQL conditions and their arguments.
func auditWhere(f AuditFilter) ([]string, []any, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if !f.From.IsZero() {
		add(`ts >= ?`, f.From.UnixNano())
	}
	if !f.To.IsZero() {
		add(`ts < ?`, f.To.UnixNano())
	}
	if f.PrincipalID != "" {
		add(`principal_id = ?`, f.PrincipalID)
	}
	if f.Model != "" {
		add(`(model_requested = ? OR model_served = ?)`, f.Model, f.Model)
	}
	if f.Status != 0 {
		add(`status = ?`, f.Status)
	}
	if f.Outcome != "" {
		add(`outcome = ?`, f.Outcome)
	}
	if f.RequestID != "" {
		add(`request_id = ?`, f.RequestID)
	}
	if f.Verdict != "" {
		// The verdicts column is a JSON array written by Insert, so the
		// encoded member is an exact, portable LIKE pattern.
		sj, _ := json.Marshal(f.Verdict)
		e := likeEscape(string(sj))
		add(`(verdicts LIKE ? ESCAPE '\' OR verdicts LIKE ? ESCAPE '\')`,
			`%"stage":`+e+`%`, `%"rule":`+e+`%`)
	}
	if f.Cursor != "" {
		ts, id, err := decodeCursor(f.Cursor, f.Newest)
		if err != nil {
			return nil, nil, err
		}
		if f.Newest {
			add(`(ts < ? OR (ts = ? AND request_id < ?))`, ts, ts, id)
		} else {
			add(`(ts > ? OR (ts = ? AND request_id > ?))`, ts, ts, id)
		}
	}
	return where, args, nil
}

// auditOrder is the ORDER BY clause of f's order, the keyset of its
// cursors.
func auditOrder(f AuditFilter) string {
	if f.Newest {
		return ` ORDER BY ts DESC, request_id DESC`
	}
	return ` ORDER BY ts, request_id`
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// newestCursor starts the text of a cursor of the newest-first order. A
// cursor of the oldest-first order has no prefix, as before that order
// existed, so it starts with its time: neither order's cursor parses as
// the other's.
const newestCursor = "newest:"

// encodeCursor returns the cursor of the page after the record at ts with
// request ID id, in the order newest says.
func encodeCursor(ts int64, id string, newest bool) string {
	c := strconv.FormatInt(ts, 10) + ":" + id
	if newest {
		c = newestCursor + c
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c))
}

// decodeCursor reads a cursor that encodeCursor issued for the same order;
// any other is ErrBadCursor.
func decodeCursor(c string, newest bool) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	s := string(b)
	if newest {
		var ok bool
		if s, ok = strings.CutPrefix(s, newestCursor); !ok {
			return 0, "", ErrBadCursor
		}
	}
	tsS, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return 0, "", ErrBadCursor
	}
	ts, err := strconv.ParseInt(tsS, 10, 64)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	return ts, id, nil
}

// auditPage reads up to limit records of a query that asked for limit+1,
// and the cursor of the next page, in the order newest says, when there
// is one.
func auditPage(rows rowIter, scan func(rowIter) (*AuditRecord, error), limit int, newest bool) ([]*AuditRecord, string, error) {
	var out []*AuditRecord
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, "", fmt.Errorf("query audit: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("query audit: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeCursor(last.Time.UnixNano(), last.RequestID, newest)
	}
	return out, next, nil
}

func scanAudit(rows rowIter) (*AuditRecord, error) {
	var r AuditRecord
	var ts, ttft, dur, gw int64
	var stream int
	var vj string
	if err := rows.Scan(&r.RequestID, &ts, &r.Principal.Kind, &r.Principal.ID,
		&r.Principal.Name, &r.Principal.Team, &r.ClientIP, &r.Method, &r.Path,
		&r.Route, &r.ModelRequested, &r.ModelServed, &r.Upstream, &r.Attempts,
		&stream, &r.Status, &r.Outcome, &r.ErrorCode, &vj,
		&r.Usage.PromptTokens, &r.Usage.CompletionTokens, &r.Usage.ReasoningTokens,
		&r.Usage.CachedTokens, &r.Usage.TotalTokens, &ttft, &dur, &gw); err != nil {
		return nil, err
	}
	r.Time = time.Unix(0, ts).UTC()
	r.Stream = stream != 0
	r.TTFT, r.Duration, r.GatewayTime = time.Duration(ttft), time.Duration(dur), time.Duration(gw)
	if err := json.Unmarshal([]byte(vj), &r.Verdicts); err != nil {
		return nil, fmt.Errorf("verdicts of %s: %w", r.RequestID, err)
	}
	return &r, nil
}

func (s *sqlAudit) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM audit_records WHERE request_id IN
(SELECT request_id FROM audit_records WHERE ts < ? ORDER BY ts LIMIT ?)`, before.UnixNano(), limit)
	if err != nil {
		return 0, fmt.Errorf("purge audit: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge audit: %w", err)
	}
	return int(n), nil
}
