package limits

import (
	"context"
	"time"
)

// Backend stores counters. Memory keeps them in the process; Redis shares
// them between gateway instances.
type Backend interface {
	// Reserve checks every op against its limit and, only when all of
	// them fit, applies them all, atomically with respect to other
	// callers. It writes each counter's value into vals (after the
	// operation, or as found when an op did not fit) and returns the index
	// of the first op that did not fit, or -1.
	Reserve(ctx context.Context, now time.Time, ops []Op, vals []int64) (denied int, err error)
	// Adjust adds each op's Amount, which may be negative, without
	// checking limits. Counters never go below zero; a counter that has
	// expired is not recreated by a refund. A lease op with a negative
	// Amount releases its lease.
	Adjust(ctx context.Context, now time.Time, ops []Op) error
}

// Op is one operation on one counter.
type Op struct {
	// Key names the counter. It starts with a Redis Cluster hash tag
	// ("{rule:values}") shared by all counters of one rule and subject, so
	// that they live in one slot and change in one atomic script.
	Key string
	// Limit, when positive, is the most the counter may hold after a
	// positive Amount is reserved.
	Limit int64
	// Amount is added to the counter.
	Amount int64
	// Expire is when the counter may be dropped: the end of its window,
	// or the end of a concurrency lease.
	Expire time.Time
	// Lease, when set, makes the counter a set of leases (concurrent
	// requests) and names this request's lease. Leases expire by
	// themselves at Expire, so a crashed instance cannot hold slots for
	// ever.
	Lease string
}

// tag returns the hash tag that starts key, braces included.
func tag(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '}' {
			return key[:i+1]
		}
	}
	return key
}
