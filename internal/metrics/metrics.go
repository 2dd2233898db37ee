// Package metrics exports Prometheus metrics about the gateway's traffic.
// Every label comes from a fixed set (route and upstream names from the
// configuration, status classes, token kinds), never from request data.
package metrics

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/waf/family"
)

// Metrics holds the gateway's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	ttft      *prometheus.HistogramVec
	tokens    *prometheus.CounterVec
	upErrors  *prometheus.CounterVec
	attempts  *prometheus.CounterVec
	events    *prometheus.CounterVec
	inFlight  prometheus.GaugeFunc
	reloads   *prometheus.CounterVec
	wafRules  *prometheus.CounterVec
	wafStops  *prometheus.CounterVec
	routeSet  map[string]bool
	upSet     map[string]bool
	classes   [6]string
	endpoints map[string]bool
}

// New registers the collectors. inFlight reports requests being served.
func New(inFlight func() float64) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	latency := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_requests_total", Help: "Requests served, by route, endpoint and status class.",
		}, []string{"route", "endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rampart_request_duration_seconds", Help: "Time from request to the end of the answer.", Buckets: latency,
		}, []string{"route", "endpoint"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rampart_time_to_first_token_seconds", Help: "Time from request to the first byte of the answer.", Buckets: latency,
		}, []string{"route"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_tokens_total", Help: "Tokens by kind as the upstream reported them (prompt, completion, reasoning, cached).",
		}, []string{"route", "kind"}),
		upErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_upstream_errors_total", Help: "Failed exchanges by upstream and error code.",
		}, []string{"upstream", "code"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_upstream_attempts_total", Help: "Upstream attempts, failovers included.",
		}, []string{"upstream"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_stream_events_total", Help: "SSE events relayed to clients.",
		}, []string{"route"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_config_reloads_total", Help: "Configuration reloads by result.",
		}, []string{"result"}),
		wafRules: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_waf_rule_matches_total", Help: "WAF rules that matched, by CRS rule family (at most 16 per request).",
		}, []string{"family"}),
		wafStops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rampart_waf_interruptions_total", Help: "Requests the WAF blocked (action block) or would have blocked (detect), once per rule family that matched.",
		}, []string{"family", "action"}),
		classes:   [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"},
		endpoints: map[string]bool{"chat": true, "completions": true, "embeddings": true, "models": true},
	}
	m.inFlight = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rampart_in_flight_requests", Help: "Requests being served.",
	}, inFlight)
	reg.MustRegister(m.requests, m.duration, m.ttft, m.tokens, m.upErrors, m.attempts, m.events, m.inFlight, m.reloads, m.wafRules, m.wafStops)
	return m
}

// SetNames fixes the label values allowed for routes and upstreams; others
// are reported as "other". Call it before Record is used concurrently with
// a new set, that is, when a configuration snapshot is built.
func (m *Metrics) SetNames(routes, upstreams []string) *Metrics {
	c := *m
	c.routeSet = map[string]bool{}
	c.upSet = map[string]bool{}
	for _, r := range routes {
		c.routeSet[r] = true
	}
	for _, u := range upstreams {
		c.upSet[u] = true
	}
	return &c
}

// Reload counts a configuration reload.
func (m *Metrics) Reload(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
	} else {
		m.reloads.WithLabelValues("error").Inc()
	}
}

func (m *Metrics) label(set map[string]bool, v string) string {
	if v == "" {
		return "none"
	}
	if set[v] {
		return v
	}
	return "other"
}

func (m *Metrics) class(status int) string {
	if status == 499 {
		return "499"
	}
	if i := status / 100; i >= 1 && i <= 5 {
		return m.classes[i]
	}
	return m.classes[0]
}

// Record implements the proxy's sink.
func (m *Metrics) Record(rec *record.Record) {
	rt := m.label(m.routeSet, rec.Route)
	ep := rec.Endpoint
	if !m.endpoints[ep] {
		ep = "other"
	}
	m.requests.WithLabelValues(rt, ep, m.class(rec.Status)).Inc()
	m.duration.WithLabelValues(rt, ep).Observe(rec.Duration.Seconds())
	if rec.TTFT > 0 {
		m.ttft.WithLabelValues(rt).Observe(rec.TTFT.Seconds())
	}
	if u := rec.Usage; u.TotalTokens+u.PromptTokens+u.CompletionTokens > 0 {
		m.tokens.WithLabelValues(rt, "prompt").Add(float64(u.PromptTokens))
		m.tokens.WithLabelValues(rt, "completion").Add(float64(u.CompletionTokens))
		m.tokens.WithLabelValues(rt, "reasoning").Add(float64(u.ReasoningTokens))
		m.tokens.WithLabelValues(rt, "cached").Add(float64(u.CachedTokens))
	}
	if rec.Events > 0 {
		m.events.WithLabelValues(rt).Add(float64(rec.Events))
	}
	m.recordWAF(rec)
	for _, u := range rec.Tried {
		m.attempts.WithLabelValues(m.label(m.upSet, u)).Inc()
	}
	if rec.Upstream != "" {
		up := m.label(m.upSet, rec.Upstream)
		if len(rec.Tried) == 0 {
			m.attempts.WithLabelValues(up).Add(float64(max(rec.Attempts, 1)))
		}
		if rec.Status >= 500 || rec.Outcome == "upstream_error" {
			m.upErrors.WithLabelValues(up, errorCodeLabel(rec.ErrorCode)).Inc()
		}
	}
}

// recordWAF counts the WAF's verdicts by rule family: a flag verdict per
// matched rule, a block or detect verdict for the interruption.
func (m *Metrics) recordWAF(rec *record.Record) {
	var fams []string
	stop := ""
	for _, v := range rec.Verdicts() {
		if v.Stage != "waf" {
			continue
		}
		f := family.Of(v.Rule)
		m.wafRules.WithLabelValues(f).Inc()
		switch v.Action {
		case "block", "detect":
			stop = v.Action
			if f == family.OfID(949110) {
				continue // the anomaly-score verdict: the families that matched tell why
			}
		}
		if !slices.Contains(fams, f) {
			fams = append(fams, f)
		}
	}
	if stop == "" {
		return
	}
	for _, f := range fams {
		m.wafStops.WithLabelValues(f, stop).Inc()
	}
}

// errorCodeLabel keeps the upstream error label set fixed.
func errorCodeLabel(code string) string {
	switch code {
	case "upstream_unreachable", "upstream_timeout", "upstream_error", "upstream_bad_response",
		"upstream_stream_broken", "upstream_rate_limited", "upstream_auth_failed", "upstream_killed":
		return code
	}
	return "other"
}

// AuditSource reports the audit writer's counters.
type AuditSource func() (written, spooled, dropped uint64, queued int)

// RegisterAudit exports the audit writer's counters: records committed,
// spooled and dropped (which must stay 0), and the queue length.
func (m *Metrics) RegisterAudit(src AuditSource) {
	counter := func(name, help string, pick func(w, s, d uint64) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
			w, s, d, _ := src()
			return float64(pick(w, s, d))
		})
	}
	m.Registry.MustRegister(
		counter("rampart_audit_records_written_total", "Audit records committed to the store.", func(w, _, _ uint64) uint64 { return w }),
		counter("rampart_audit_records_spooled_total", "Audit records appended to the local spool because the store lagged or failed.", func(_, s, _ uint64) uint64 { return s }),
		counter("rampart_audit_records_dropped_total", "Audit records lost; anything but 0 is an incident.", func(_, _, d uint64) uint64 { return d }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "rampart_audit_queue", Help: "Audit records waiting to be written."}, func() float64 {
			_, _, _, q := src()
			return float64(q)
		}),
	)
}
