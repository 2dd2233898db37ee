// Package waf is the web application firewall stage: the OWASP Core Rule Set
// run by Coraza on each request before authentication.
//
// Its scope is tuned for LLM traffic. By default the rules see the method,
// URI, query and headers of every request and the JSON envelope of its body,
// its structure without message contents (see Envelope): prompts
// legitimately contain SQL, shell and HTML, and they are inspected by the
// prompt guards and DLP instead.
// Response bodies are never inspected, so a stream is never buffered.
package waf

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/types"
)

// WAF is a compiled rule set. It is immutable and safe for concurrent use;
// build one per distinct Config and share it across config reloads (see
// Fingerprint and Reuse).
type WAF struct {
	cfg      Config
	key      string
	log      *slog.Logger
	coraz    coraza.WAF
	verdicts *verdictCache // nil when off
}

// Verdict is the outcome of inspecting one request.
type Verdict struct {
	// Blocked is true when the request must be refused. It is never true in
	// detect mode.
	Blocked bool
	// Status is the HTTP status of the interruption, enforced or not (403
	// for the anomaly threshold, 400 for an unparsable body, 413 for a body
	// over the limit); 0 when no rule interrupted. In detect mode a non-zero
	// Status with Blocked false means "would have blocked".
	Status int
	// Rule is the ID of the interrupting rule, 0 when none.
	Rule int
	// RuleIDs are the IDs of the matched rules that log, in match order.
	RuleIDs []int
	// Messages are the messages of those rules: Messages[i] belongs to
	// RuleIDs[i]. They never contain the matched request text.
	Messages []string
	// Score is the CRS inbound anomaly score at the blocking paranoia level.
	Score int
}

// New compiles the Core Rule Set with cfg. It applies the defaults of cfg,
// validates it and reads the rule files; a SecLang error names its file and
// line. Compiling takes tens of milliseconds: reuse a WAF whose
// Fingerprint did not change.
func New(cfg Config, log *slog.Logger) (*WAF, error) {
	return newWAF(cfg, log, nil)
}

// newWAF is New with an observer of every matched rule that logs, which
// receives the full Coraza error log line; the regression suite uses it to
// write the log go-ftw reads.
func newWAF(cfg Config, log *slog.Logger, onMatch func(types.MatchedRule)) (*WAF, error) {
	if log == nil {
		log = slog.Default()
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("waf: %w", err)
	}
	w := &WAF{cfg: cfg, log: log.With("stage", "waf")}
	if !cfg.Enabled {
		return w, nil
	}
	p, err := newPlan(cfg)
	if err != nil {
		return nil, fmt.Errorf("waf: %w", err)
	}
	p.onMatch = onMatch
	w.key = p.fingerprint()
	if w.coraz, err = p.compile(); err != nil {
		return nil, fmt.Errorf("waf: %w", p.locate(err))
	}
	if onMatch == nil && len(cfg.SetupFiles)+len(cfg.RuleFiles) == 0 {
		// An observer must see every transaction's matches, so a cached
		// verdict would hide them from it. Operator rule files may read
		// what the key leaves out (the client's port, the time) or ask
		// the outside world (@rbl, @geoLookup), so with them every request
		// is inspected.
		w.verdicts = newVerdictCache()
	}
	return w, nil
}

// Reuse returns old when cfg compiles to the same rules as old, and a newly
// compiled WAF otherwise. It is what a config reload calls.
func Reuse(old *WAF, cfg Config, log *slog.Logger) (*WAF, error) {
	if old != nil {
		if key, err := Fingerprint(cfg); err == nil && key == old.Key() {
			return old, nil
		}
	}
	return New(cfg, log)
}

// Key is the fingerprint of the configuration and rule files the WAF was
// compiled from; see Fingerprint.
func (w *WAF) Key() string {
	if w == nil {
		return ""
	}
	if !w.cfg.Enabled {
		return "off"
	}
	return w.key
}

// Config returns the defaulted configuration the WAF was built from.
func (w *WAF) Config() Config { return w.cfg }

// Close releases the compiled rules. Requests in flight finish on them.
func (w *WAF) Close() error {
	if w == nil || w.coraz == nil {
		return nil
	}
	if c, ok := w.coraz.(experimental.WAFCloser); ok {
		return c.Close()
	}
	return nil
}

// Inspect runs the rules on r and its already-read body, with the body scope
// of the configuration. The returned Verdict is always the decision to
// apply; a non-nil error explains an inspection failure, which has been
// logged and, in block mode, fails closed.
func (w *WAF) Inspect(ctx context.Context, r *http.Request, body []byte) (Verdict, error) {
	if w == nil {
		return Verdict{}, nil
	}
	return w.InspectScope(ctx, r, body, w.cfg.InspectBody)
}

// InspectScope is Inspect with a body scope chosen by the caller, so a route
// can opt in to full-body inspection ("full") or out of body inspection
// ("none"). An unknown scope inspects the envelope.
func (w *WAF) InspectScope(ctx context.Context, r *http.Request, body []byte, scope string) (v Verdict, err error) {
	return w.InspectRouted(ctx, r, body, scope, "")
}

// InspectRouted is InspectScope for a request whose model the gateway has
// already matched against a model name configured verbatim. When the
// envelope of the body holds nothing but that model name (the common chat
// request: the rest is prose, numbers and the API's vocabulary), the body
// carries nothing for the rules, and they run on the connection, URI and
// headers only. Any other member, or a model written with escapes, and the
// envelope is inspected as usual.
func (w *WAF) InspectRouted(ctx context.Context, r *http.Request, body []byte, scope, knownModel string) (v Verdict, err error) {
	if w == nil || !w.cfg.Enabled {
		return Verdict{}, nil
	}
	defer func() {
		if p := recover(); p != nil {
			v, err = w.failure(ctx, r, fmt.Errorf("rule engine panic: %v", p))
		}
	}()
	p := w.payload(r, body, scope)
	if knownModel != "" && scope != ScopeFull && onlyModel(p, knownModel) {
		p = nil
	}
	var (
		key    verdictKey
		cached bool
	)
	if w.verdicts != nil {
		if key, cached = w.verdicts.key(r, p); cached {
			if v, ok := w.verdicts.get(key); ok {
				return v, nil
			}
		}
	}
	v, err = w.inspect(ctx, r, p)
	if err != nil {
		return w.failure(ctx, r, err)
	}
	if cached {
		w.verdicts.put(key, v)
	}
	return v, nil
}

// failure logs an inspection error and returns the verdict of the mode:
// blocked in block mode, passed in detect mode.
func (w *WAF) failure(ctx context.Context, r *http.Request, err error) (Verdict, error) {
	err = fmt.Errorf("waf: inspect %s %s: %w", r.Method, r.URL.Path, err)
	w.log.ErrorContext(ctx, "inspection failed", "mode", w.cfg.Mode, "err", err)
	if w.cfg.Mode == ModeDetect {
		return Verdict{}, err
	}
	return Verdict{Blocked: true, Status: http.StatusForbidden}, err
}
