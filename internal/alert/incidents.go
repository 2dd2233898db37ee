package alert

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rampart-gw/rampart/internal/record"
)

// KillSwitchChanged is the incident of a kill or a revival. action is
// "kill" or "revive".
func KillSwitchChanged(target, action, actor, reason string) Incident {
	return Incident{
		Kind:     KindKillSwitch,
		Key:      KindKillSwitch + ":" + action + ":" + target,
		Subject:  target,
		Severity: SeverityCritical,
		Summary:  fmt.Sprintf("kill switch %s %q by %s", action, target, actor),
		Details:  map[string]string{"target": target, "action": action, "actor": actor, "reason": clip(reason, 200)},
	}
}

// UpstreamUnhealthy is the incident of an upstream that stopped being
// usable: its circuit breaker opened, its health checks failed or it was
// ejected as an outlier. Health monitors call it with a short reason.
func UpstreamUnhealthy(upstream, reason string) Incident {
	return Incident{
		Kind:     KindUpstreamUnhealthy,
		Subject:  upstream,
		Severity: SeverityCritical,
		Summary:  fmt.Sprintf("upstream %q is unhealthy: %s", upstream, clip(reason, 200)),
		Details:  map[string]string{"upstream": upstream, "reason": clip(reason, 200)},
	}
}

// BlockedBurst is the incident of a principal with n blocked requests
// within window.
func BlockedBurst(principal string, n int, window time.Duration, last record.Verdict) Incident {
	return Incident{
		Kind:     KindBlockedBurst,
		Subject:  principal,
		Severity: SeverityWarning,
		Summary:  fmt.Sprintf("%d requests from %q blocked within %s", n, principal, window),
		Details: map[string]string{
			"principal": principal, "blocked": strconv.Itoa(n), "window": window.String(),
			"last_stage": last.Stage, "last_rule": last.Rule,
		},
	}
}

// BudgetExhausted is the incident of a cost budget (a limit rule) that a
// principal spent.
func BudgetExhausted(rule, principal string) Incident {
	return Incident{
		Kind:     KindBudgetExhausted,
		Key:      KindBudgetExhausted + ":" + rule + ":" + principal,
		Subject:  principal,
		Severity: SeverityWarning,
		Summary:  fmt.Sprintf("budget %q exhausted by %q", rule, principal),
		Details:  map[string]string{"rule": rule, "principal": principal},
	}
}

// Watcher is a proxy sink that raises the incidents it can see in
// finished records: bursts of blocked requests per principal and budgets
// exhausted. Record costs a few comparisons for a request nobody blocked.
type Watcher struct {
	n      *Notifier
	burst  int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	hits map[string][]time.Time // principal → times of its recent blocks
}

// maxPrincipals bounds the principals a Watcher tracks at once.
const maxPrincipals = 10000

// NewWatcher returns a watcher raising on n. burst <= 0 turns the
// blocked-burst incident off. It returns nil when n is nil.
func NewWatcher(n *Notifier, burst int, window time.Duration) *Watcher {
	if n == nil {
		return nil
	}
	if window <= 0 {
		window = time.Minute
	}
	return &Watcher{n: n, burst: burst, window: window, now: n.o.Now, hits: map[string][]time.Time{}}
}

// Record implements the proxy's sink.
func (w *Watcher) Record(rec *record.Record) {
	if rec.Status < 400 && rec.Outcome != "blocked" {
		return
	}
	if rec.ErrorCode == "upstream_unavailable" && rec.Route != "" {
		// Every upstream of the route has its circuit breaker open.
		w.n.Raise(UpstreamUnhealthy("route:"+rec.Route, "every upstream of the route is failing; their circuit breakers are open"))
	}
	var blocked *record.Verdict
	for _, v := range rec.Verdicts() {
		if v.Action != "block" {
			continue
		}
		if v.Stage == "limit" {
			if rec.ErrorCode == "insufficient_quota" || v.Detail == "cost" {
				w.n.Raise(BudgetExhausted(v.Rule, principalOf(rec)))
			}
			continue
		}
		if v.Stage == "killswitch" {
			continue
		}
		blocked = &v
	}
	if blocked == nil || w.burst <= 0 {
		return
	}
	p := principalOf(rec)
	now := w.now()
	w.mu.Lock()
	ts := w.hits[p]
	// Drop the blocks that fell out of the window.
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= w.window {
		i++
	}
	ts = append(ts[i:], now)
	n := len(ts)
	if n >= w.burst {
		delete(w.hits, p)
	} else {
		if _, ok := w.hits[p]; !ok && len(w.hits) >= maxPrincipals {
			w.evictLocked(now)
		}
		w.hits[p] = ts
	}
	w.mu.Unlock()
	if n >= w.burst {
		w.n.Raise(BlockedBurst(p, n, w.window, *blocked))
	}
}

// evictLocked forgets principals with no block in the window, or all of
// them when every one is fresh.
func (w *Watcher) evictLocked(now time.Time) {
	for k, ts := range w.hits {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= w.window {
			delete(w.hits, k)
		}
	}
	if len(w.hits) >= maxPrincipals {
		clear(w.hits)
	}
}

func principalOf(rec *record.Record) string {
	if rec.Principal.ID != "" {
		return rec.Principal.ID
	}
	return "ip:" + rec.ClientIP
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
