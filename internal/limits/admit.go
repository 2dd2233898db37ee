package limits

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
)

// opMeta is what the limiter remembers about each op of a reservation.
type opMeta struct {
	rule *compiled
	q    quantity
	end  time.Time // end of the window; zero for concurrency
}

// Admit reserves what the request may consume in every rule that applies
// to subj: one request, est.InputTokens, the output tokens it may produce
// (est.MaxOutputTokens or Options.DefaultMaxOutputTokens, clamped per
// rule), their sum, their worst-case cost and one concurrency slot. It is
// all or nothing: either every rule has room and the reservation is
// returned, or nothing is reserved and a Denial says which rule refused.
//
// When the backend fails, Admit returns an error wrapping ErrUnavailable
// (an *apierr.Error with status 503) in closed fail mode, or admits against
// the local fallback in local fail mode. A cancelled ctx returns its error.
func (l *Limiter) Admit(ctx context.Context, subj Subject, est Estimate) (*Reservation, *Denial, error) {
	now := l.opts.Now()
	r := &Reservation{l: l, backend: l.backend, now: now, model: subj.Model}
	r.ops, r.meta = r.opsBuf[:0], r.metaBuf[:0]
	if d := l.plan(r, &subj, est, now); d != nil {
		return nil, d, nil
	}
	if len(r.ops) == 0 {
		return r, nil, nil
	}
	vals := r.valsBuf[:0]
	switch {
	case len(r.ops) <= len(r.valsBuf):
	case r.ext != nil && len(r.ops) <= len(r.ext.vals):
		vals = r.ext.vals[:0]
	default:
		vals = make([]int64, len(r.ops))
	}
	vals = vals[:len(r.ops)]
	denied, err := l.backend.Reserve(ctx, now, r.ops, vals)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("limits: admit: %w", ctx.Err())
		}
		l.backendFailed("admit", err)
		if l.fallback == nil {
			return nil, nil, unavailable(err)
		}
		r.backend = l.fallback
		if denied, err = l.fallback.Reserve(ctx, now, r.ops, vals); err != nil {
			return nil, nil, unavailable(err)
		}
	}
	if denied >= 0 {
		return nil, l.deny(r, vals, denied, now), nil
	}
	r.hdr = headersFrom(r.ops, r.meta, vals, now)
	return r, nil, nil
}

// unavailable is the error for a backend that cannot be reached.
func unavailable(cause error) error {
	return &apierr.Error{
		Status:     http.StatusServiceUnavailable,
		Type:       apierr.TypeServer,
		Code:       "limits_unavailable",
		Message:    "Usage limits cannot be checked right now; retry shortly.",
		RetryAfter: time.Second,
		Cause:      fmt.Errorf("limits: %w: %w", ErrUnavailable, cause),
	}
}

// plan fills r with the ops for every rule that applies. It returns a
// Denial without touching the backend when a cost rule meets a model
// without a price.
func (l *Limiter) plan(r *Reservation, s *Subject, est Estimate, now time.Time) *Denial {
	in := max(0, est.InputTokens)
	outReq := est.MaxOutputTokens
	if outReq <= 0 {
		outReq = l.opts.DefaultMaxOutputTokens
	}
	price, priced := l.price(s.Model)
	r.estIn, r.estOut = in, 0
	for _, c := range l.rules {
		if !c.applies(s) {
			continue
		}
		out := outReq
		if c.maxOut > 0 {
			out = min(out, c.maxOut)
		}
		if r.estOut == 0 || out < r.estOut {
			r.estOut = out
		}
		if c.limit[qCost] > 0 && !priced {
			return unpriced(c, s.Model)
		}
		amounts := [numQuantities]int64{1, in, out, in + out, price.cost(0, in, out), 1}
		l.addOps(r, c, s, &amounts, now)
	}
	return nil
}

// addOps appends the ops of one rule.
func (l *Limiter) addOps(r *Reservation, c *compiled, s *Subject, amounts *[numQuantities]int64, now time.Time) {
	var start, end time.Time
	if c.window != "" {
		start, end = c.window.span(now)
	}
	// Every key of the rule is built in one buffer and becomes one string,
	// sliced per quantity: one allocation per rule.
	var bb, kb [256]byte
	bucket := c.appendBucket(bb[:0], s)
	keys := kb[:0]
	var ends [numQuantities]int
	for q := quantity(0); q < numQuantities; q++ {
		if c.limit[q] > 0 {
			keys = appendCounterKey(keys, bucket, q, start.Unix())
		}
		ends[q] = len(keys)
	}
	all := string(keys)
	from := 0
	for q := quantity(0); q < numQuantities; q++ {
		if c.limit[q] <= 0 {
			continue
		}
		key := all[from:ends[q]]
		from = ends[q]
		op := Op{Key: key, Limit: c.limit[q], Amount: amounts[q], Expire: end.Add(expiryGrace)}
		m := opMeta{rule: c, q: q, end: end}
		if q == qConcurrent {
			if r.lease == "" {
				r.lease = newLeaseID()
			}
			op.Lease, op.Expire, m.end = r.lease, now.Add(l.opts.ConcurrencyLease), time.Time{}
		}
		r.appendOp(op, m)
	}
}

// expiryGrace keeps a window's counters a little past its end, so that a
// Redis server whose clock runs ahead of the gateway's does not drop a
// window that the gateway still counts in.
const expiryGrace = 5 * time.Second
