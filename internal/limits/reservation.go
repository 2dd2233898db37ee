package limits

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// Reservation is what Admit set aside for one request. Settle it exactly
// once when the response ends, however it ends.
type Reservation struct {
	l       *Limiter
	backend Backend
	now     time.Time
	ops     []Op
	meta    []opMeta
	lease   string
	model   string
	hdr     headerState
	settled atomic.Bool
	// The buffers hold the ops of one rule on requests and tokens without
	// further allocations; ext holds up to four in one more.
	opsBuf  [2]Op
	metaBuf [2]opMeta
	valsBuf [2]int64
	ext     *opsExt
	// estIn and estOut are the input tokens estimated and the output
	// tokens the request may produce under every rule that applied.
	estIn, estOut int64
}

// Reserved returns the tokens the reservation stands for: the estimated
// input and the output the request may produce (its max_tokens, or the
// default, clamped by the rules).
func (r *Reservation) Reserved() Usage {
	if r == nil {
		return Usage{}
	}
	return Usage{InputTokens: r.estIn, OutputTokens: r.estOut}
}

// opsExt holds the ops of a request that several rules apply to: one
// allocation instead of one per slice and per doubling.
type opsExt struct {
	ops  [4]Op
	meta [4]opMeta
	vals [4]int64
}

// appendOp appends one op and its meta, moving to ext when the inline
// buffers are full.
func (r *Reservation) appendOp(op Op, m opMeta) {
	if len(r.ops) == cap(r.ops) && r.ext == nil && len(r.ops) < len(r.ext.ops) {
		r.ext = new(opsExt)
		r.ops = append(r.ext.ops[:0], r.ops...)
		r.meta = append(r.ext.meta[:0], r.meta...)
	}
	r.ops = append(r.ops, op)
	r.meta = append(r.meta, m)
}

// Settle replaces the reservation with the actual usage: unused tokens and
// cost are refunded, usage beyond the estimate is charged, the concurrency
// slot is released. Pass the partial usage of a response cut short by a
// client disconnect. Only the first call has an effect; later calls return
// nil. Settle runs even when ctx is already cancelled (the client is
// gone), bounded by Options.SettleTimeout.
func (r *Reservation) Settle(ctx context.Context, actual Usage) error {
	if r == nil || !r.settled.CompareAndSwap(false, true) || len(r.ops) == 0 {
		return nil
	}
	adj := r.adjustments(actual)
	if len(adj) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.l.opts.SettleTimeout)
	defer cancel()
	if err := r.backend.Adjust(ctx, r.l.opts.Now(), adj); err != nil {
		r.l.backendFailed("settle", err)
		return fmt.Errorf("limits: settle: %w", err)
	}
	return nil
}

// adjustments returns the ops that turn the reserved amounts into actual.
func (r *Reservation) adjustments(u Usage) []Op {
	in := max(0, u.InputTokens)
	cached := min(max(0, u.CachedInputTokens), in)
	out := max(0, u.OutputTokens)
	price, _ := r.l.price(r.model)
	actual := [numQuantities]int64{1, in, out, in + out, price.cost(cached, in-cached, out), 0}
	adj := make([]Op, 0, len(r.ops))
	for i, op := range r.ops {
		d := actual[r.meta[i].q] - op.Amount
		if d == 0 {
			continue
		}
		op.Amount, op.Limit = d, 0
		adj = append(adj, op)
	}
	return adj
}

// headerState is what the x-ratelimit-* headers report: the most
// constrained requests counter and the most constrained tokens counter.
type headerState struct {
	req, tok counterState
}

type counterState struct {
	ok           bool
	limit, avail int64
	reset        time.Duration
}

// headersFrom picks, among the windowed request and token counters, the
// ones with the least room left.
func headersFrom(ops []Op, meta []opMeta, vals []int64, now time.Time) headerState {
	var h headerState
	for i := range ops {
		var c *counterState
		switch meta[i].q {
		case qRequests:
			c = &h.req
		case qInput, qOutput, qTotal:
			c = &h.tok
		default:
			continue
		}
		avail := max(0, ops[i].Limit-vals[i])
		if !c.ok || avail < c.avail {
			*c = counterState{ok: true, limit: ops[i].Limit, avail: avail, reset: meta[i].end.Sub(now)}
		}
	}
	return h
}

// Headers returns the x-ratelimit-* headers as OpenAI sends them, for the
// most constrained request and token rules that applied; empty when no
// such rule applied.
func (r *Reservation) Headers() map[string]string {
	return r.hdr.render()
}

// render formats the headers.
func (h *headerState) render() map[string]string {
	m := make(map[string]string, 6)
	h.req.render(m, "requests")
	h.tok.render(m, "tokens")
	return m
}

func (c *counterState) render(m map[string]string, what string) {
	if !c.ok {
		return
	}
	m["x-ratelimit-limit-"+what] = strconv.FormatInt(c.limit, 10)
	m["x-ratelimit-remaining-"+what] = strconv.FormatInt(c.avail, 10)
	m["x-ratelimit-reset-"+what] = formatReset(c.reset)
}

// formatReset renders a duration as OpenAI does: "1s", "6m0s", "20ms".
func formatReset(d time.Duration) string {
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d.Round(time.Millisecond).String()
}
