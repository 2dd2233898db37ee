package config

import (
	"encoding/json"
	"fmt"
	"github.com/rampart-gw/rampart/internal/policy"

	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// validateUpstreams checks every upstream, in name order so that messages
// come out the same way on every run.
func validateUpstreams(errs *Errors, ups map[string]*Upstream) {
	if len(ups) == 0 {
		errs.add("upstreams", 0, "at least one upstream is required")
		return
	}
	for _, name := range slices.Sorted(maps.Keys(ups)) {
		p := joinKey("upstreams", name)
		if !validName(name) {
			errs.add(p, 0, "invalid upstream name "+strconv.Quote(name)+": use letters, digits, '.', '_' and '-'")
		}
		u := ups[name]
		if u == nil {
			errs.add(p+".url", 0, "required")
			continue
		}
		u.validate(errs, p)
	}
}

// validate checks one upstream.
func (u *Upstream) validate(errs *Errors, p string) {
	checkUpstreamURL(errs, p+".url", u.URL)
	switch u.Flavor {
	case "", "deepseek", "vllm", "sglang", "ollama", "openai":
	default:
		errs.add(p+".flavor", 0, "must be deepseek, vllm, sglang, ollama or openai, not "+strconv.Quote(u.Flavor))
	}
	nonNeg(errs, p+".circuit_breaker.failures", int64(u.CircuitBreaker.Failures))
	nonNegDur(errs, p+".circuit_breaker.cooldown", u.CircuitBreaker.Cooldown)
	u.HealthCheck.validate(errs, p+".health_check")
	u.OutlierDetection.validate(errs, p+".outlier_detection")
	switch u.ReasoningFormat {
	case "", "field", "tags", "implicit":
	default:
		errs.add(p+".reasoning_format", 0, "must be field, tags or implicit, not "+strconv.Quote(u.ReasoningFormat))
	}
	for _, h := range slices.Sorted(maps.Keys(u.Headers)) {
		hp := joinKey(p+".headers", h)
		if !httpguts.ValidHeaderFieldName(h) {
			errs.add(hp, 0, "invalid header name")
		}
		// Header values are secrets: the message must not quote them.
		if !httpguts.ValidHeaderFieldValue(u.Headers[h]) {
			errs.add(hp, 0, "invalid header value (control characters or line breaks)")
		}
	}
	nonNegDur(errs, p+".timeouts.dial", u.Timeouts.Dial)
	nonNegDur(errs, p+".timeouts.tls", u.Timeouts.TLS)
	nonNegDur(errs, p+".timeouts.first_byte", u.Timeouts.FirstByte)
	nonNegDur(errs, p+".timeouts.idle", u.Timeouts.Idle)
	nonNegDur(errs, p+".timeouts.total", u.Timeouts.Total)
	nonNeg(errs, p+".max_idle_conns", int64(u.MaxIdleConns))
	if u.TLS != nil {
		u.TLS.validate(errs, p+".tls")
	}
}

// checkUpstreamURL requires an absolute http or https URL with a host. The
// message shows the URL without any password it may hold.
func checkUpstreamURL(errs *Errors, p, raw string) {
	if raw == "" {
		errs.add(p, 0, "required")
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		errs.add(p, 0, "invalid URL: want an absolute http or https URL such as https://api.deepseek.com/v1")
		return
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		errs.add(p, 0, "invalid URL "+strconv.Quote(u.Redacted())+": want an absolute http or https URL such as https://api.deepseek.com/v1")
	}
}

// validName reports whether an upstream name matches [a-zA-Z0-9._-]+.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '.' || c == '_' || c == '-' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')) {
			return false
		}
	}
	return true
}

// validateRoutes checks every route and that each target names an upstream.
func validateRoutes(errs *Errors, routes []*Route, ups map[string]*Upstream) {
	if len(routes) == 0 {
		errs.add("routes", 0, "at least one route is required")
		return
	}
	names := make(map[string]int, len(routes))
	known := slices.Sorted(maps.Keys(ups))
	for i, r := range routes {
		p := joinIndex("routes", i)
		if r == nil {
			errs.add(p+".models", 0, "required")
			continue
		}
		if r.Name != "" {
			if j, dup := names[r.Name]; dup {
				errs.add(p+".name", 0, "duplicate route name "+strconv.Quote(r.Name)+", also used by "+joinIndex("routes", j))
			} else {
				names[r.Name] = i
			}
		}
		r.validate(errs, p, ups, known)
	}
}

// validate checks one route; known lists the upstream names for hints.
func (r *Route) validate(errs *Errors, p string, ups map[string]*Upstream, known []string) {
	if len(r.Models) == 0 {
		errs.add(p+".models", 0, "at least one model is required")
	}
	checkPatterns(errs, p+".models", r.Models)
	for _, k := range slices.Sorted(maps.Keys(r.Aliases)) {
		ap := joinKey(p+".aliases", k)
		if k == "" {
			errs.add(ap, 0, "empty alias name")
		}
		if r.Aliases[k] == "" {
			errs.add(ap, 0, "empty model name for alias "+strconv.Quote(k))
		}
	}
	if len(r.Upstreams) == 0 {
		errs.add(p+".upstreams", 0, "at least one upstream is required")
	}
	for i, t := range r.Upstreams {
		tp := joinIndex(p+".upstreams", i)
		if t.Upstream == "" {
			errs.add(tp, 0, "upstream name required")
		} else if _, ok := ups[t.Upstream]; !ok {
			errs.add(tp, 0, "unknown upstream "+strconv.Quote(t.Upstream)+suggest(t.Upstream, known))
		}
	}
	switch r.Reasoning {
	case "", "pass", "strip", "separate":
	default:
		errs.add(p+".reasoning", 0, "must be pass, strip or separate, not "+strconv.Quote(r.Reasoning))
	}
	nonNeg(errs, p+".retries.max_attempts", int64(r.Retries.MaxAttempts))
	nonNegDur(errs, p+".retries.backoff", r.Retries.Backoff)
	nonNegDur(errs, p+".heartbeat", r.Heartbeat)
	nonNeg(errs, p+".max_tokens", int64(r.MaxTokens))
	for i, t := range r.Upstreams {
		nonNeg(errs, fmt.Sprintf("%s.upstreams[%d].weight", p, i), int64(t.Weight))
		nonNeg(errs, fmt.Sprintf("%s.upstreams[%d].priority", p, i), int64(t.Priority))
	}
	if r.PrivateWhen != "" {
		if _, err := policy.Compile(r.PrivateWhen); err != nil {
			errs.add(p+".private_when", 0, err.Error())
		}
	}
	addSection(errs, p+".waf", r.WAF.Validate())
}

// validate checks an active health check. Settings without enabled: true
// are refused rather than silently ignored.
func (h *HealthCheck) validate(errs *Errors, p string) {
	if !h.Enabled {
		if *h != (HealthCheck{}) {
			errs.add(p+".enabled", 0, "the health check is configured but off: set enabled: true, or remove the settings")
		}
		return
	}
	if h.Path == "" || h.Path[0] != '/' || strings.ContainsAny(h.Path, "?#") || strings.Contains(h.Path, "..") {
		errs.add(p+".path", 0, "must be an absolute path such as /models, without a query")
	}
	switch h.Method {
	case "GET":
		if h.Body != "" {
			errs.add(p+".body", 0, "a GET check has no body; use method: POST")
		}
	case "POST":
		switch h.Path {
		case "/chat/completions", "/completions", "/embeddings":
		default:
			errs.add(p+".path", 0, "a POST check goes to /chat/completions, /completions or /embeddings")
		}
		if h.Body == "" || !json.Valid([]byte(h.Body)) {
			errs.add(p+".body", 0, "a POST check needs a JSON body")
		}
	default:
		errs.add(p+".method", 0, "must be GET or POST, not "+strconv.Quote(h.Method))
	}
	if h.Interval < 100*time.Millisecond {
		errs.add(p+".interval", 0, "must be at least 100ms")
	}
	if h.Timeout <= 0 || h.Timeout > h.Interval {
		errs.add(p+".timeout", 0, "must be positive and at most the interval")
	}
	if h.HealthyThreshold < 1 {
		errs.add(p+".healthy_threshold", 0, "must be at least 1")
	}
	if h.UnhealthyThreshold < 1 {
		errs.add(p+".unhealthy_threshold", 0, "must be at least 1")
	}
}

// validate checks outlier detection.
func (o *OutlierDetection) validate(errs *Errors, p string) {
	if !o.Enabled {
		if *o != (OutlierDetection{}) {
			errs.add(p+".enabled", 0, "outlier detection is configured but off: set enabled: true, or remove the settings")
		}
		return
	}
	if o.ConsecutiveFailures < 1 {
		errs.add(p+".consecutive_failures", 0, "must be at least 1")
	}
	if o.BaseEjectionTime <= 0 {
		errs.add(p+".base_ejection_time", 0, "must be positive")
	}
	if o.MaxEjectionTime < o.BaseEjectionTime {
		errs.add(p+".max_ejection_time", 0, "must be at least base_ejection_time")
	}
}
