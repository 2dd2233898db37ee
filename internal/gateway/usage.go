package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/limits"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/store"
)

// openUsage starts the usage recorder on the store.
func (g *Gateway) openUsage(cfg *config.Config) {
	interval := cfg.Limits.UsageFlushInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	g.usage = limits.NewUsageRecorder(g.store.Usage(), interval, g.log)
}

// closeUsage writes the pending usage; it must run before the store
// closes.
func (g *Gateway) closeUsage() {
	if g.usage == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.usage.Close(ctx); err != nil {
		g.log.Error("usage counters not written at shutdown", "err", err)
	}
}

// addUsage makes the usage recorder a sink of snap, costing usage with the
// configuration's price table.
func (g *Gateway) addUsage(cfg *config.Config, snap *proxy.Snapshot) {
	if g.usage == nil {
		return
	}
	g.usage.SetPrices(cfg.Limits.Prices)
	snap.Sinks = append(snap.Sinks, g.usage)
}

// serveUsage answers GET /admin/v1/usage: the usage counters summed per
// period and, on demand, per key, team and model. Query parameters: key,
// team, model (filters); from, to (RFC 3339, default the last 24 hours);
// granularity (hour, day (default), month, total); group_by (comma
// separated: key, team, model). Counts are as of the last flush.
func (g *Gateway) serveUsage(w http.ResponseWriter, r *http.Request) {
	if g.store == nil || g.usage == nil {
		apierr.Write(w, apierr.New(http.StatusNotFound, apierr.TypeInvalidRequest, "no_store", "Usage is not recorded: the gateway has no store."))
		return
	}
	q, err := usageQuery(r, time.Now())
	if err != nil {
		apierr.Write(w, apierr.BadRequest("invalid_query", "Invalid usage query: "+err.Error()))
		return
	}
	rows, err := g.store.Usage().Query(r.Context(), q)
	switch {
	case errors.Is(err, store.ErrTooManyRows):
		apierr.Write(w, apierr.BadRequest("too_many_rows", "Invalid usage query: "+err.Error()))
		return
	case err != nil:
		g.log.Error("usage query failed", "err", err)
		apierr.Write(w, apierr.New(http.StatusInternalServerError, apierr.TypeServer, "usage_query_failed", "The usage query failed; the gateway's log has the reason."))
		return
	}
	type row struct {
		store.UsageRow
		Bucket *time.Time `json:"bucket,omitempty"`
		Cost   float64    `json:"cost"`
	}
	out := make([]row, 0, len(rows))
	for _, r := range rows {
		o := row{UsageRow: r, Cost: float64(r.CostNanos) / 1e9}
		if !r.Bucket.IsZero() {
			b := r.Bucket
			o.Bucket = &b
		}
		out = append(out, o)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"from": q.From, "to": q.To, "granularity": q.Granularity, "group_by": q.GroupBy, "usage": out,
	})
}

// usageQuery reads the parameters of a usage query.
func usageQuery(r *http.Request, now time.Time) (store.UsageQuery, error) {
	v := r.URL.Query()
	q := store.UsageQuery{
		PrincipalID: v.Get("key"), Team: v.Get("team"), Model: v.Get("model"),
		Granularity: v.Get("granularity"), To: now, From: now.Add(-24 * time.Hour),
	}
	if q.Granularity == "" {
		q.Granularity = store.GranularityDay
	}
	switch q.Granularity {
	case store.GranularityHour, store.GranularityDay, store.GranularityMonth, store.GranularityTotal:
	default:
		return q, errors.New("granularity: want hour, day, month or total")
	}
	for _, p := range []struct {
		name string
		into *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, errors.New(p.name + ": want an RFC 3339 time")
			}
			*p.into = t
		}
	}
	if !q.From.Before(q.To) {
		return q, errors.New("from: must be before to")
	}
	if g := v.Get("group_by"); g != "" {
		for _, d := range strings.Split(g, ",") {
			switch d = strings.TrimSpace(d); d {
			case store.UsageByKey, store.UsageByTeam, store.UsageByModel:
				q.GroupBy = append(q.GroupBy, d)
			default:
				return q, errors.New("group_by: want key, team or model, comma separated")
			}
		}
	}
	return q, nil
}
