package limits

import (
	"time"
)

// Window is the period a rule counts over: second, minute, hour, day or
// month. Windows are fixed and aligned to UTC: a day runs from midnight to
// midnight UTC, a month is a calendar month.
type Window string

// The windows a rule may use.
const (
	Second Window = "second"
	Minute Window = "minute"
	Hour   Window = "hour"
	Day    Window = "day"
	Month  Window = "month"
)

// Dimension names one attribute of a request's Subject.
type Dimension string

// The dimensions a rule can match on and count by.
const (
	DimKey      Dimension = "key"
	DimUser     Dimension = "user"
	DimTeam     Dimension = "team"
	DimModel    Dimension = "model"
	DimRoute    Dimension = "route"
	DimClientIP Dimension = "client_ip"
)

// Rule is one entry of the `limits:` config section. A rule applies to the
// requests its Match selects and keeps one set of counters per distinct value
// of its By dimensions. A request is admitted only when every matching rule
// has room for it.
//
// A quantity left at zero is not limited by this rule; a rule must limit at
// least one quantity. When a limit is hit the client gets 429 with
// Retry-After and OpenAI's x-ratelimit-* headers; the error code is
// insufficient_quota for budgets (cost, or a day or month window) and
// rate_limit_exceeded otherwise.
type Rule struct {
	// Name identifies the rule in errors, logs, metrics and counter keys:
	// letters, digits, '_', '-' and '.', at most 64 bytes. Required.
	Name string `yaml:"name"`
	// Match selects the requests the rule applies to. Empty matches every
	// request.
	Match Selector `yaml:"match"`
	// MatchFunc, when set, must also return true for the rule to apply.
	// It is the hook through which expression-based matching (CEL) is
	// wired in; it is never read from a config file.
	MatchFunc func(Subject) bool `yaml:"-"`
	// By lists the dimensions that get counters of their own: [key] gives
	// each API key its own limit, [team, model] each team its own limit per
	// model. Empty means one counter shared by every matching request.
	By []Dimension `yaml:"by"`
	// Window is the counting period for the rate and budget quantities:
	// second, minute, hour, day or month. Required unless the rule only
	// sets Concurrent.
	Window Window `yaml:"window"`
	// Requests caps requests per window.
	Requests int64 `yaml:"requests"`
	// InputTokens caps prompt tokens per window, cached ones included.
	InputTokens int64 `yaml:"input_tokens"`
	// OutputTokens caps completion tokens per window, reasoning included.
	OutputTokens int64 `yaml:"output_tokens"`
	// TotalTokens caps input plus output tokens per window.
	TotalTokens int64 `yaml:"total_tokens"`
	// Cost caps spending per window, in the currency of the price table
	// (Options.Prices), e.g. 5.0 for five dollars. A request for a model
	// without a price is denied by a cost rule, since its cost is unknown.
	Cost float64 `yaml:"cost"`
	// Concurrent caps requests in flight at once; it has no window.
	// Requests over the cap get 429 at once, never a queue.
	Concurrent int64 `yaml:"concurrent"`
	// MaxOutputTokens caps the output tokens reserved for one request
	// under this rule; Limiter.ClampOutput gives the gateway the value to
	// clamp the request's max_tokens to, so the reservation holds.
	// Default: no cap beyond Options.DefaultMaxOutputTokens for requests
	// without max_tokens.
	MaxOutputTokens int64 `yaml:"max_output_tokens"`
}

// Selector selects requests by dimension. Every non-empty list must match
// (and); within a list, any value may match (or). A value ending in '*'
// matches by prefix ("deepseek-*"); ClientIP also accepts CIDR prefixes
// ("10.0.0.0/8").
type Selector struct {
	Key      []string `yaml:"key"`
	User     []string `yaml:"user"`
	Team     []string `yaml:"team"`
	Model    []string `yaml:"model"`
	Route    []string `yaml:"route"`
	ClientIP []string `yaml:"client_ip"`
}

// Price is a model's price per one million tokens, in one currency.
// DeepSeek, for example, bills cache hits at a fraction of cache misses.
type Price struct {
	// InputCacheHit is the price of 1M input tokens served from the
	// provider's context cache.
	InputCacheHit float64 `yaml:"input_cache_hit"`
	// InputCacheMiss is the price of 1M other input tokens.
	InputCacheMiss float64 `yaml:"input_cache_miss"`
	// Output is the price of 1M output tokens, reasoning included.
	Output float64 `yaml:"output"`
}

// nanosPerUnit scales costs to integer nano-units of the currency so that
// counters stay integers: a token at 0.028 per million costs 28 nano-units.
const nanosPerUnit = 1e9

// cost returns the cost of the given tokens in nano-units, rounded up so a
// budget never undercounts.
func (p Price) cost(hit, miss, out int64) int64 {
	// price per token in nano-units = price per 1M * 1e9 / 1e6.
	c := (float64(hit)*p.InputCacheHit + float64(miss)*p.InputCacheMiss + float64(out)*p.Output) * (nanosPerUnit / 1e6)
	n := int64(c)
	if float64(n) < c {
		n++
	}
	return n
}

// span returns the window that holds now: its start and its end.
func (w Window) span(now time.Time) (start, end time.Time) {
	now = now.UTC()
	switch w {
	case Month:
		start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	case Day:
		start = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1)
	}
	d := w.fixed()
	start = now.Truncate(d)
	return start, start.Add(d)
}

// fixed returns the length of a window of fixed length.
func (w Window) fixed() time.Duration {
	switch w {
	case Second:
		return time.Second
	case Minute:
		return time.Minute
	case Hour:
		return time.Hour
	}
	return 0
}

// valid reports whether w is a known window.
func (w Window) valid() bool {
	return w == Month || w == Day || w.fixed() > 0
}

// budget reports whether hitting a limit of this window is an exhausted
// quota rather than a rate.
func (w Window) budget() bool { return w == Day || w == Month }
