package limits

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// FailMode is what the limiter does when its backend cannot be reached.
type FailMode string

const (
	// FailClosed refuses requests with 503 while the backend is down: no
	// request goes unlimited. The default.
	FailClosed FailMode = "closed"
	// FailLocal enforces the limits in a local Memory backend while the
	// backend is down: each instance then allows the whole limit on its
	// own, so N instances allow up to N times the limit.
	FailLocal FailMode = "local"
)

// Options tunes a Limiter. The zero value is ready to use.
type Options struct {
	// Prices is the price table for cost rules, by model. A name ending in
	// '*' matches by prefix; the longest match wins.
	Prices map[string]Price
	// DefaultMaxOutputTokens is reserved for a request without max_tokens.
	// Default: 4096.
	DefaultMaxOutputTokens int64
	// FailMode is closed (default) or local.
	FailMode FailMode
	// Fallback is the backend used in local fail mode. Default: a Memory
	// backend with default options.
	Fallback Backend
	// ConcurrencyLease bounds how long a concurrency slot outlives an
	// instance that crashed before settling it. It must exceed the
	// longest request (reasoning models think for minutes). Default: 30m.
	ConcurrencyLease time.Duration
	// ConcurrencyRetryAfter is the Retry-After sent when a concurrency cap
	// is hit. Default: 1s.
	ConcurrencyRetryAfter time.Duration
	// SettleTimeout bounds a settlement, which runs even after the
	// client's context was cancelled. Default: 2s.
	SettleTimeout time.Duration
	// Now returns the current time. Default: time.Now. Every instance
	// sharing a Redis backend must have a synchronised clock, since
	// windows are computed from it.
	Now func() time.Time
	// OnBackendError, when set, is called for every backend failure with
	// the operation ("admit" or "settle") and whether the local fallback
	// took over; it is the hook for a metric.
	OnBackendError func(op string, fallback bool, err error)
	// Logger receives at most one line per second about backend failures.
	// Default: slog.Default().
	Logger *slog.Logger
}

// ErrUnavailable is wrapped by the error Admit returns when the backend
// cannot be reached in closed fail mode. The error is an *apierr.Error
// with status 503 and code limits_unavailable.
var ErrUnavailable = errors.New("limits backend unavailable")

// Limiter admits requests against a fixed set of rules. It is immutable
// and safe for concurrent use; a new config builds a new Limiter.
type Limiter struct {
	rules    []*compiled
	backend  Backend
	opts     Options
	prices   []priceEntry
	lastLog  atomic.Int64
	fallback Backend
}

type priceEntry struct {
	name   string
	prefix bool
	price  Price
}

// New validates the rules and returns a Limiter that keeps its counters in
// b. Every problem is reported at once, each with its path.
func New(rules []Rule, b Backend, opts Options) (*Limiter, error) {
	if b == nil {
		return nil, errors.New("limits: nil backend")
	}
	cs, err := compileRules(rules)
	if err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	l := &Limiter{rules: cs, backend: b, opts: opts, prices: compilePrices(opts.Prices)}
	if opts.FailMode == FailLocal {
		l.fallback = opts.Fallback
	}
	return l, nil
}

// setDefaults fills in zero fields and rejects bad ones.
func (o *Options) setDefaults() error {
	switch o.FailMode {
	case "":
		o.FailMode = FailClosed
	case FailClosed, FailLocal:
	default:
		return fmt.Errorf("fail_mode: %q must be closed or local", o.FailMode)
	}
	if o.FailMode == FailLocal && o.Fallback == nil {
		o.Fallback = NewMemory(MemoryOptions{})
	}
	if o.DefaultMaxOutputTokens <= 0 {
		o.DefaultMaxOutputTokens = 4096
	}
	if o.ConcurrencyLease <= 0 {
		o.ConcurrencyLease = 30 * time.Minute
	}
	if o.ConcurrencyRetryAfter <= 0 {
		o.ConcurrencyRetryAfter = time.Second
	}
	if o.SettleTimeout <= 0 {
		o.SettleTimeout = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	for name, p := range o.Prices {
		if p.InputCacheHit < 0 || p.InputCacheMiss < 0 || p.Output < 0 {
			return fmt.Errorf("prices[%q]: prices must not be negative", name)
		}
	}
	return nil
}

// compilePrices orders the price table for lookup: exact names first, then
// prefixes from the longest.
func compilePrices(m map[string]Price) []priceEntry {
	out := make([]priceEntry, 0, len(m))
	for name, p := range m {
		e := priceEntry{name: name, price: p}
		if strings.HasSuffix(name, "*") {
			e.name, e.prefix = strings.TrimSuffix(name, "*"), true
		}
		out = append(out, e)
	}
	// A stable order keeps lookups deterministic: exact before prefix,
	// longer prefix before shorter.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && priceBefore(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func priceBefore(a, b priceEntry) bool {
	if a.prefix != b.prefix {
		return !a.prefix
	}
	if len(a.name) != len(b.name) {
		return len(a.name) > len(b.name)
	}
	return a.name < b.name
}

// price returns the price of model and whether it has one.
func (l *Limiter) price(model string) (Price, bool) {
	for _, e := range l.prices {
		if e.name == model || e.prefix && strings.HasPrefix(model, e.name) {
			return e.price, true
		}
	}
	return Price{}, false
}

// ClampOutput returns the max_tokens a request may ask for under the rules
// that apply to s: requested, lowered to the smallest max_output_tokens of
// those rules. A requested value of zero (none sent) becomes that cap, or
// stays zero when no rule caps it.
func (l *Limiter) ClampOutput(s Subject, requested int64) int64 {
	for _, c := range l.rules {
		if c.maxOut > 0 && c.applies(&s) && (requested <= 0 || requested > c.maxOut) {
			requested = c.maxOut
		}
	}
	return requested
}

// newLeaseID returns a random identifier for a concurrency lease.
func newLeaseID() string {
	return strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}

// backendFailed counts and logs a backend failure; logging is limited to
// one line per second so that an outage does not flood the log.
func (l *Limiter) backendFailed(op string, err error) {
	fallback := l.fallback != nil && op == "admit"
	if l.opts.OnBackendError != nil {
		l.opts.OnBackendError(op, fallback, err)
	}
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(time.Second) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.opts.Logger.Warn("limits backend failed", "op", op, "fail_mode", string(l.opts.FailMode), "err", err)
}
