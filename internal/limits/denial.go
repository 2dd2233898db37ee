package limits

import (
	"fmt"
	"net/http"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
)

// The codes of a Denial, as OpenAI uses them.
const (
	// CodeRateLimit is a rate or concurrency limit: retry later.
	CodeRateLimit = "rate_limit_exceeded"
	// CodeQuota is an exhausted budget: a cost limit, or a day or month
	// window.
	CodeQuota = "insufficient_quota"
)

// Denial says why a request was refused. Nothing was reserved.
type Denial struct {
	// Rule is the name of the rule that refused.
	Rule string
	// Code is rate_limit_exceeded or insufficient_quota.
	Code string
	// Quantity is what ran out: requests, input_tokens, output_tokens,
	// total_tokens, cost or concurrent.
	Quantity string
	// Limit, Used and Requested are the counter's limit, its value and
	// what the request needed (cost in nano-units of the currency).
	Limit, Used, Requested int64
	// RetryAfter is when the refusing counter resets.
	RetryAfter time.Duration
	// Headers are the x-ratelimit-* headers, as on success.
	Headers map[string]string
	message string
}

var quantityNames = [numQuantities]string{"requests", "input_tokens", "output_tokens", "total_tokens", "cost", "concurrent"}

// deny builds the Denial for the op at index i.
func (l *Limiter) deny(r *Reservation, vals []int64, i int, now time.Time) *Denial {
	op, m := &r.ops[i], &r.meta[i]
	d := &Denial{
		Rule: m.rule.name, Code: CodeRateLimit, Quantity: quantityNames[m.q],
		Limit: op.Limit, Used: vals[i], Requested: op.Amount,
	}
	hdr := headersFrom(r.ops, r.meta, vals, now)
	d.Headers = hdr.render()
	switch {
	case m.q == qConcurrent:
		d.RetryAfter = l.opts.ConcurrencyRetryAfter
		d.message = fmt.Sprintf("Too many concurrent requests (rule %s): limit %d. Please retry shortly.", d.Rule, d.Limit)
		return d
	case m.q == qCost || m.rule.window.budget():
		d.Code = CodeQuota
	}
	d.RetryAfter = max(m.end.Sub(now), time.Millisecond)
	d.message = fmt.Sprintf("Limit reached for %s per %s (rule %s): limit %s, used %s, requested %s. Please try again in %s.",
		d.Quantity, m.rule.window, d.Rule, amount(m.q, d.Limit), amount(m.q, d.Used), amount(m.q, d.Requested), formatReset(d.RetryAfter))
	return d
}

// unpriced is the Denial of a cost rule for a model without a price.
func unpriced(c *compiled, model string) *Denial {
	return &Denial{
		Rule: c.name, Code: CodeQuota, Quantity: quantityNames[qCost], Limit: c.limit[qCost],
		Headers: map[string]string{},
		message: fmt.Sprintf("No price is configured for model %q, so its cost cannot be checked against the budget (rule %s).", model, c.name),
	}
}

// amount renders a counter value; costs are shown in currency units.
func amount(q quantity, v int64) string {
	if q == qCost {
		return fmt.Sprintf("%.6f", float64(v)/nanosPerUnit)
	}
	return fmt.Sprint(v)
}

// APIError returns the client's answer: 429 with the OpenAI error type and
// code and Retry-After. The x-ratelimit-* headers are in d.Headers.
func (d *Denial) APIError() *apierr.Error {
	typ := "requests"
	switch {
	case d.Code == CodeQuota:
		typ = CodeQuota
	case d.Quantity != "requests" && d.Quantity != "concurrent":
		typ = "tokens"
	}
	return &apierr.Error{
		Status: http.StatusTooManyRequests, Type: typ, Code: d.Code,
		Message: d.message, RetryAfter: d.RetryAfter,
	}
}

// Message returns the message for the client.
func (d *Denial) Message() string { return d.message }
