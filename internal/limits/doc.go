// Package limits enforces request, token, cost and concurrency limits per
// API key, user, team, model, route and client IP.
//
// A request is admitted before it goes upstream: the limiter reserves one
// request, the estimated input tokens plus the output tokens the request may
// produce (its max_tokens, clamped per rule) and their worst-case cost, in
// every matching rule at once, all or nothing. When the response ends
// (completed, failed, or cut short by a client disconnect) the reservation is
// settled against the real usage and the difference is refunded, so one
// request can never overrun a budget by more than its own reservation and the
// counters end up exact.
//
// Counters live in a Backend: Memory (sharded, bounded, TTL eviction) for one
// instance, or Redis, whose atomic Lua scripts let many gateway instances
// share one limit. Windows are fixed and aligned: a minute window runs from
// second 0 to second 59, a month window is a calendar month in UTC.
package limits
