package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/audit"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/store"
)

// AuditSpoolFile is the spool of the audit trail, in the data folder.
const AuditSpoolFile = "audit-spool.jsonl"

// openAudit starts the audit writer when the audit trail is on.
func (g *Gateway) openAudit(cfg *config.Config) error {
	if !cfg.Audit.On() || g.store == nil {
		return nil
	}
	a := &cfg.Audit
	opts := audit.Options{
		Queue:         a.Queue,
		Batch:         a.Batch,
		FlushInterval: a.FlushInterval,
		Policy:        a.OnBackpressure,
		SpoolPath:     filepath.Join(cfg.DataDir, AuditSpoolFile),
		Retention:     a.Retention,
		Log:           g.log,
		// Set even while capture is off: a reload may turn it on, and
		// content left by an earlier run must still expire.
		ContentRetention: a.Capture.Retention,
		ContentMaxBytes:  a.Capture.MaxTotalBytes,
	}
	w, err := audit.New(g.store.Audit(), opts)
	if err != nil {
		return err
	}
	g.audit = w
	return nil
}

// closeAudit flushes the audit writer; it must run before the store closes.
func (g *Gateway) closeAudit() {
	if g.audit == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.audit.Close(ctx); err != nil {
		g.log.Error("audit trail not flushed; the spool keeps the rest", "err", err)
	}
}

// addAudit puts the audit writer in snap: a sink, and under the refuse
// policy a first stage that answers 503 while the trail cannot keep up.
func (g *Gateway) addAudit(cfg *config.Config, snap *proxy.Snapshot) {
	if g.audit == nil {
		return
	}
	snap.Sinks = append(snap.Sinks, g.audit)
	if cfg.Audit.OnBackpressure == audit.PolicyRefuse {
		snap.PreStages = append([]proxy.Stage{auditStage{g.audit}}, snap.PreStages...)
	}
}

// auditStage refuses requests while the audit trail is behind.
type auditStage struct{ w *audit.Writer }

// Check implements proxy.Stage.
func (s auditStage) Check(context.Context, *proxy.Call) error {
	if s.w.Healthy() {
		return nil
	}
	return apierr.New(http.StatusServiceUnavailable, apierr.TypeServer, "audit_unavailable",
		"The audit trail cannot keep up; retry shortly.")
}

// serveAudit answers GET /admin/v1/audit with the records matching the
// query's filters, oldest first or, with order=newest, newest first.
func (g *Gateway) serveAudit(w http.ResponseWriter, r *http.Request) {
	if g.store == nil || g.audit == nil {
		apierr.Write(w, apierr.New(http.StatusNotFound, apierr.TypeInvalidRequest, "audit_off",
			"The audit trail is off (audit.enabled: false), so there are no records to search."))
		return
	}
	f, err := auditFilter(r)
	if err != nil {
		apierr.Write(w, apierr.BadRequest("invalid_query", "Invalid audit query: "+err.Error()))
		return
	}
	recs, next, err := g.store.Audit().Query(r.Context(), f)
	if errors.Is(err, store.ErrBadCursor) {
		apierr.Write(w, apierr.BadParam("cursor", "invalid_cursor",
			"The cursor is not one this search issued for this order (order=newest and order=oldest have their own cursors); start again without a cursor."))
		return
	}
	if err != nil {
		g.log.Error("audit query failed", "err", err)
		apierr.Write(w, apierr.New(http.StatusInternalServerError, apierr.TypeServer, "audit_query_failed",
			"The audit query failed; the gateway's log has the reason."))
		return
	}
	if recs == nil {
		recs = []*store.AuditRecord{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"records": recs, "next_cursor": next})
}

// auditFilter reads the filters of an audit query.
func auditFilter(r *http.Request) (store.AuditFilter, error) {
	q := r.URL.Query()
	f := store.AuditFilter{
		RequestID:   q.Get("request_id"),
		PrincipalID: q.Get("principal"),
		Model:       q.Get("model"),
		Outcome:     q.Get("outcome"),
		Verdict:     q.Get("verdict"),
		Cursor:      q.Get("cursor"),
		// Captured content comes with one request's record, or when asked.
		WithContent: q.Get("request_id") != "" || q.Get("content") == "true",
	}
	var err error
	parseTime := func(name string, into *time.Time) {
		if v := q.Get(name); v != "" && err == nil {
			if *into, err = time.Parse(time.RFC3339Nano, v); err != nil {
				err = errors.New(name + ": want an RFC 3339 time")
			}
		}
	}
	parseInt := func(name string, into *int) {
		if v := q.Get(name); v != "" && err == nil {
			if *into, err = strconv.Atoi(v); err != nil || *into < 0 {
				err = errors.New(name + ": want a non-negative integer")
			}
		}
	}
	parseTime("from", &f.From)
	parseTime("to", &f.To)
	parseInt("status", &f.Status)
	parseInt("limit", &f.Limit)
	switch q.Get("order") {
	case "", "oldest":
	case "newest":
		f.Newest = true
	default:
		if err == nil {
			err = errors.New("order: want oldest or newest")
		}
	}
	return f, err
}
