package limits

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/store"
)

// UsageRecorder sums every finished request's usage per hour, principal,
// team and model in memory and adds the sums to the store periodically
// and when it closes: no store write per request. It is a record sink.
type UsageRecorder struct {
	st     store.UsageStore
	log    *slog.Logger
	prices atomic.Pointer[[]priceEntry]
	now    func() time.Time

	mu      sync.Mutex
	pending map[usageKey]*store.UsageCounts
	full    chan struct{} // signalled when pending reaches maxPending

	dropped atomic.Int64
	stop    chan struct{}
	done    chan struct{}
	closed  sync.Once
}

type usageKey struct {
	bucket           int64
	key, team, model string
}

// maxPending bounds the groups held between flushes; reaching it flushes
// early, and while the store fails, further new groups are dropped (and
// counted) rather than held without bound.
const maxPending = 50000

// NewUsageRecorder starts a recorder that flushes to st every interval.
func NewUsageRecorder(st store.UsageStore, interval time.Duration, log *slog.Logger) *UsageRecorder {
	if log == nil {
		log = slog.Default()
	}
	u := &UsageRecorder{
		st: st, log: log, now: time.Now,
		pending: make(map[usageKey]*store.UsageCounts),
		full:    make(chan struct{}, 1),
		stop:    make(chan struct{}), done: make(chan struct{}),
	}
	go u.run(interval)
	return u
}

// SetPrices sets the price table used to cost usage (on reload).
func (u *UsageRecorder) SetPrices(p map[string]Price) {
	c := compilePrices(p)
	u.prices.Store(&c)
}

// Record implements the sink: it adds the record's usage to the pending
// sums. Requests refused before a principal was known are not counted.
func (u *UsageRecorder) Record(rec *record.Record) {
	if rec.Principal.ID == "" {
		return
	}
	model := rec.ModelServed
	if model == "" {
		model = rec.ModelRequested
	}
	c := store.UsageCounts{
		Requests:         1,
		PromptTokens:     int64(rec.Usage.PromptTokens),
		CachedTokens:     int64(rec.Usage.CachedTokens),
		CompletionTokens: int64(rec.Usage.CompletionTokens),
		ReasoningTokens:  int64(rec.Usage.ReasoningTokens),
		TotalTokens:      int64(rec.Usage.TotalTokens),
	}
	if rec.Status >= 400 {
		c.Errors = 1
	}
	if ps := u.prices.Load(); ps != nil {
		if p, ok := lookupPrice(*ps, model); ok {
			hit := c.CachedTokens
			c.CostNanos = p.cost(hit, max(c.PromptTokens-hit, 0), c.CompletionTokens)
		}
	}
	start := rec.Start
	if start.IsZero() {
		start = u.now()
	}
	k := usageKey{bucket: start.UTC().Truncate(time.Hour).UnixNano(), key: rec.Principal.ID, team: rec.Principal.Team, model: model}
	u.mu.Lock()
	defer u.mu.Unlock()
	if s, ok := u.pending[k]; ok {
		s.Add(c)
		return
	}
	if len(u.pending) >= maxPending {
		u.dropped.Add(1)
		select {
		case u.full <- struct{}{}:
		default:
		}
		return
	}
	u.pending[k] = &c
	if len(u.pending) == maxPending {
		select {
		case u.full <- struct{}{}:
		default:
		}
	}
}

// Dropped returns the requests not counted because too many groups were
// pending.
func (u *UsageRecorder) Dropped() int64 { return u.dropped.Load() }

func (u *UsageRecorder) run(interval time.Duration) {
	defer close(u.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-u.stop:
			return
		case <-t.C:
		case <-u.full:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := u.Flush(ctx); err != nil {
			u.log.Warn("usage counters not written; kept for the next flush", "err", err)
		}
		cancel()
	}
}

// Flush writes the pending sums to the store. On failure they are kept
// (merged with what arrives meanwhile) for the next flush.
func (u *UsageRecorder) Flush(ctx context.Context) error {
	u.mu.Lock()
	batch := u.pending
	u.pending = make(map[usageKey]*store.UsageCounts, len(batch))
	u.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	rows := make([]store.UsageRow, 0, len(batch))
	for k, c := range batch {
		rows = append(rows, store.UsageRow{Bucket: time.Unix(0, k.bucket).UTC(), PrincipalID: k.key, Team: k.team, Model: k.model, UsageCounts: *c})
	}
	err := u.st.Add(ctx, rows)
	if err == nil {
		return nil
	}
	u.mu.Lock()
	for k, c := range batch {
		if s, ok := u.pending[k]; ok {
			s.Add(*c)
		} else {
			u.pending[k] = c
		}
	}
	u.mu.Unlock()
	return err
}

// Close stops the periodic flush and writes what is pending; it must run
// before the store closes.
func (u *UsageRecorder) Close(ctx context.Context) error {
	var err error
	u.closed.Do(func() {
		close(u.stop)
		<-u.done
		err = u.Flush(ctx)
	})
	return err
}

// lookupPrice returns the price of model in a compiled table.
func lookupPrice(ps []priceEntry, model string) (Price, bool) {
	l := Limiter{prices: ps}
	return l.price(model)
}
