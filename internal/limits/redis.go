package limits

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configures a Redis backend.
type RedisOptions struct {
	// Prefix starts every key, so that several deployments can share one
	// Redis. It must not contain '{' or '}'. Default: "rampart:lim:".
	Prefix string
}

// Redis is a Backend on Redis, Valkey or Redis Cluster, shared by every
// gateway instance that points at it. Each rule's counters for one subject
// share a hash tag, so one Lua script updates them atomically in one slot;
// an admission is one pipelined round trip, a settlement another.
//
// Configure the client with short timeouts (DialTimeout, ReadTimeout and
// WriteTimeout of a few hundred milliseconds, MaxRetries -1 or 1,
// DialerRetries 1): the limiter is on the path of every request, and the
// fail mode handles an outage better than a slow retry does.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedis returns a Redis backend that uses c.
func NewRedis(c redis.UniversalClient, opts RedisOptions) (*Redis, error) {
	if c == nil {
		return nil, errors.New("limits: nil redis client")
	}
	if opts.Prefix == "" {
		opts.Prefix = "rampart:lim:"
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("limits: redis prefix %q must not contain '{' or '}'", opts.Prefix)
	}
	return &Redis{c: c, prefix: opts.Prefix}, nil
}

// reserveScript checks every counter of one hash tag and applies them all
// only when all fit. It takes the time as an argument (not from TIME) so
// that every key can be named by the caller, as Redis Cluster requires.
// KEYS: the counters. ARGV[1]: now in ms; then four per key: limit,
// amount, time to live in ms and lease id ("" for a plain counter). Times
// to live are relative so that a Redis clock that differs from the
// gateways' does not shorten windows.
// Returns {denied (1-based, 0 when none), value1, value2, ...}.
var reserveScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local out = {0}
local denied = 0
for i = 1, #KEYS do
  local b = (i - 1) * 4 + 2
  local limit, amount, lease = tonumber(ARGV[b]), tonumber(ARGV[b + 1]), ARGV[b + 3]
  local cur
  if lease ~= '' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    cur = redis.call('ZCARD', KEYS[i])
  else
    cur = tonumber(redis.call('GET', KEYS[i]) or '0')
  end
  out[i + 1] = cur
  if denied == 0 and limit > 0 and amount > 0 and cur + amount > limit then
    denied = i
  end
end
if denied > 0 then
  out[1] = denied
  return out
end
for i = 1, #KEYS do
  local b = (i - 1) * 4 + 2
  local amount, ttl, lease = tonumber(ARGV[b + 1]), ARGV[b + 2], ARGV[b + 3]
  if amount ~= 0 then
    if lease ~= '' then
      redis.call('ZADD', KEYS[i], now + ttl, lease)
      out[i + 1] = redis.call('ZCARD', KEYS[i])
    else
      out[i + 1] = redis.call('INCRBY', KEYS[i], amount)
    end
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return out
`)

// adjustScript adds amounts without checks, never below zero, and never
// recreates an expired counter for a refund. KEYS: the counters; ARGV:
// three per key: amount, time to live in ms (not positive once the window
// is over), lease id.
var adjustScript = redis.NewScript(`
for i = 1, #KEYS do
  local b = (i - 1) * 3 + 1
  local amount, ttl, lease = tonumber(ARGV[b]), tonumber(ARGV[b + 1]), ARGV[b + 2]
  if lease ~= '' then
    if amount < 0 then redis.call('ZREM', KEYS[i], lease) end
  elseif amount > 0 and ttl > 0 then
    redis.call('INCRBY', KEYS[i], amount)
    redis.call('PEXPIRE', KEYS[i], ttl)
  elseif amount < 0 then
    local v = redis.call('GET', KEYS[i])
    if v then
      local n = tonumber(v) + amount
      if n < 0 then n = 0 end
      redis.call('SET', KEYS[i], n, 'KEEPTTL')
    end
  end
end
return 0
`)

// group is a run of ops that share a hash tag.
type group struct{ from, to int }

// groups splits ops into runs of one hash tag. The limiter emits the ops
// of one rule together, so runs are whole rules.
func groups(ops []Op) []group {
	var gs []group
	for i := range ops {
		if i == 0 || tag(ops[i].Key) != tag(ops[i-1].Key) {
			gs = append(gs, group{from: i, to: i})
		}
		gs[len(gs)-1].to = i + 1
	}
	return gs
}

// Reserve implements Backend: one EVALSHA per hash tag, pipelined. When
// one tag refuses after another applied, the applied ones are rolled back
// in a second round trip; only refusals across several rules pay for it.
func (r *Redis) Reserve(ctx context.Context, now time.Time, ops []Op, vals []int64) (int, error) {
	gs := groups(ops)
	calls := make([]call, len(gs))
	for i, g := range gs {
		calls[i] = r.reserveCall(ops[g.from:g.to], now)
	}
	res, err := r.run(ctx, reserveScript, calls)
	if err != nil {
		return -1, err
	}
	denied := -1
	refused := make([]bool, len(gs))
	for i, g := range gs {
		d, err := parseReserve(res[i], vals[g.from:g.to])
		if err != nil {
			return -1, err
		}
		refused[i] = d >= 0
		if d >= 0 && denied < 0 {
			denied = g.from + d
		}
	}
	if denied >= 0 && len(gs) > 1 {
		return denied, r.rollback(ctx, now, ops, gs, refused)
	}
	return denied, nil
}

// rollback undoes the groups that applied when another refused.
func (r *Redis) rollback(ctx context.Context, now time.Time, ops []Op, gs []group, refused []bool) error {
	var undo []Op
	for gi, g := range gs {
		for i := g.from; !refused[gi] && i < g.to; i++ {
			o := ops[i]
			o.Amount, o.Limit = -o.Amount, 0
			undo = append(undo, o)
		}
	}
	if len(undo) == 0 {
		return nil
	}
	if err := r.Adjust(ctx, now, undo); err != nil {
		return fmt.Errorf("roll back a refused reservation: %w", err)
	}
	return nil
}

// Adjust implements Backend: one EVALSHA per hash tag, pipelined.
func (r *Redis) Adjust(ctx context.Context, now time.Time, ops []Op) error {
	gs := groups(ops)
	calls := make([]call, len(gs))
	for i, g := range gs {
		calls[i] = r.adjustCall(ops[g.from:g.to], now)
	}
	_, err := r.run(ctx, adjustScript, calls)
	return err
}

// call is one script invocation.
type call struct {
	keys []string
	args []any
}

func (r *Redis) reserveCall(ops []Op, now time.Time) call {
	c := call{keys: make([]string, len(ops)), args: make([]any, 1, 1+4*len(ops))}
	c.args[0] = now.UnixMilli()
	for i := range ops {
		c.keys[i] = r.prefix + ops[i].Key
		ttl := max(1, ops[i].Expire.Sub(now).Milliseconds())
		c.args = append(c.args, ops[i].Limit, ops[i].Amount, ttl, ops[i].Lease)
	}
	return c
}

func (r *Redis) adjustCall(ops []Op, now time.Time) call {
	c := call{keys: make([]string, len(ops)), args: make([]any, 0, 3*len(ops))}
	for i := range ops {
		c.keys[i] = r.prefix + ops[i].Key
		c.args = append(c.args, ops[i].Amount, ops[i].Expire.Sub(now).Milliseconds(), ops[i].Lease)
	}
	return c
}

// run sends every call in one pipeline. A call refused because the script
// is missing from a server's cache (after a restart or failover) was not
// run, so it alone is sent again with the script in full.
func (r *Redis) run(ctx context.Context, s *redis.Script, calls []call) ([]any, error) {
	p := r.c.Pipeline()
	cmds := make([]*redis.Cmd, len(calls))
	for i, c := range calls {
		cmds[i] = s.EvalSha(ctx, p, c.keys, c.args...)
	}
	_, _ = p.Exec(ctx)
	var retry []int
	for i, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		p = r.c.Pipeline()
		for _, i := range retry {
			cmds[i] = s.Eval(ctx, p, calls[i].keys, calls[i].args...)
		}
		_, _ = p.Exec(ctx)
	}
	out := make([]any, len(cmds))
	for i, c := range cmds {
		if err := c.Err(); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		out[i] = c.Val()
	}
	return out, nil
}

// parseReserve reads a reserve script's reply into vals and returns the
// 0-based index of the op that did not fit, or -1.
func parseReserve(v any, vals []int64) (int, error) {
	a, ok := v.([]any)
	if !ok || len(a) != len(vals)+1 {
		return -1, fmt.Errorf("redis: unexpected reply %T of length %d", v, len(a))
	}
	for i := range a {
		n, ok := a[i].(int64)
		if !ok {
			return -1, fmt.Errorf("redis: unexpected reply element %T", a[i])
		}
		if i > 0 {
			vals[i-1] = n
		}
	}
	return int(a[0].(int64)) - 1, nil
}

var _ Backend = (*Redis)(nil)
