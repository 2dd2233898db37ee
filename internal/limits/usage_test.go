package limits

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/store"
)

// countingUsage wraps a UsageStore, counting writes and failing on demand.
type countingUsage struct {
	store.UsageStore
	mu     sync.Mutex
	writes int
	fail   bool
}

func (c *countingUsage) Add(ctx context.Context, rows []store.UsageRow) error {
	c.mu.Lock()
	c.writes++
	fail := c.fail
	c.mu.Unlock()
	if fail {
		return errors.New("store down")
	}
	return c.UsageStore.Add(ctx, rows)
}

func openUsageStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestUsageRecorderAggregates records many requests from several
// goroutines: nothing is written before the flush, one flush writes the
// sums in one batch, and the stored counters equal the requests' usage
// and cost exactly.
func TestUsageRecorderAggregates(t *testing.T) {
	t.Parallel()
	st := openUsageStore(t)
	cu := &countingUsage{UsageStore: st.Usage()}
	u := NewUsageRecorder(cu, time.Hour, nil)
	u.SetPrices(map[string]Price{"deepseek-*": {InputCacheHit: 0.1, InputCacheMiss: 1, Output: 2}})
	start := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 250 {
				rec := &record.Record{Start: start, Status: 200, ModelServed: "deepseek-chat",
					Principal: record.Principal{ID: []string{"k1", "k2"}[g%2], Team: "t"},
					Usage:     record.Usage{PromptTokens: 100, CachedTokens: 40, CompletionTokens: 10, ReasoningTokens: 3, TotalTokens: 110}}
				if i%50 == 0 {
					rec.Status = 429
				}
				u.Record(rec)
			}
		})
	}
	wg.Wait()
	u.Record(&record.Record{Start: start}) // no principal: not counted
	if cu.writes != 0 {
		t.Fatalf("%d store writes before the flush", cu.writes)
	}
	if err := u.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cu.writes != 1 {
		t.Fatalf("%d store writes, want 1", cu.writes)
	}
	rows, err := st.Usage().Query(context.Background(), store.UsageQuery{From: start.Add(-time.Hour), To: start.Add(time.Hour), Granularity: store.GranularityTotal, GroupBy: []string{store.UsageByKey}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %+v, want k1 and k2", rows)
	}
	// Per request: 40 hits at 0.1, 60 misses at 1, 10 out at 2 per 1M
	// tokens = (4 + 60 + 20) / 1e6 units = 84000 nano-units.
	want := store.UsageCounts{Requests: 1000, Errors: 20, PromptTokens: 100000, CachedTokens: 40000,
		CompletionTokens: 10000, ReasoningTokens: 3000, TotalTokens: 110000, CostNanos: 1000 * 84000}
	for _, r := range rows {
		if r.UsageCounts != want {
			t.Errorf("%s: %+v, want %+v", r.PrincipalID, r.UsageCounts, want)
		}
	}
}

// TestUsageRecorderKeepsOnFailure: a failed flush keeps the sums, and the
// next one writes them once.
func TestUsageRecorderKeepsOnFailure(t *testing.T) {
	t.Parallel()
	st := openUsageStore(t)
	cu := &countingUsage{UsageStore: st.Usage(), fail: true}
	u := NewUsageRecorder(cu, time.Hour, nil)
	start := time.Now()
	rec := &record.Record{Start: start, Status: 200, ModelRequested: "m", Principal: record.Principal{ID: "k"}, Usage: record.Usage{TotalTokens: 5}}
	u.Record(rec)
	if err := u.Flush(context.Background()); err == nil {
		t.Fatal("flush on a failing store: no error")
	}
	u.Record(rec)
	cu.mu.Lock()
	cu.fail = false
	cu.mu.Unlock()
	if err := u.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := st.Usage().Query(context.Background(), store.UsageQuery{From: start.Add(-time.Hour), Granularity: store.GranularityTotal})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Requests != 2 || rows[0].TotalTokens != 10 {
		t.Fatalf("rows %+v, want 2 requests and 10 tokens", rows)
	}
}

// TestUsageRecorderBounded: past maxPending groups, new groups are
// dropped and counted, and an early flush is signalled.
func TestUsageRecorderBounded(t *testing.T) {
	t.Parallel()
	cu := &countingUsage{fail: true}
	u := &UsageRecorder{st: cu, pending: map[usageKey]*store.UsageCounts{}, full: make(chan struct{}, 1), now: time.Now}
	for i := range maxPending + 10 {
		u.Record(&record.Record{Principal: record.Principal{ID: "k" + string(rune('a'+i%26)) + time.Duration(i).String()}})
	}
	if len(u.pending) != maxPending || u.Dropped() != 10 {
		t.Fatalf("pending %d, dropped %d", len(u.pending), u.Dropped())
	}
	select {
	case <-u.full:
	default:
		t.Error("no early flush signalled")
	}
}

func BenchmarkUsageRecord(b *testing.B) {
	u := &UsageRecorder{st: &countingUsage{}, pending: map[usageKey]*store.UsageCounts{}, full: make(chan struct{}, 1), now: time.Now}
	u.SetPrices(map[string]Price{"deepseek-chat": {Output: 1}})
	rec := &record.Record{Start: time.Now(), Status: 200, ModelServed: "deepseek-chat", Principal: record.Principal{ID: "k"}, Usage: record.Usage{TotalTokens: 5}}
	b.ReportAllocs()
	for b.Loop() {
		u.Record(rec)
	}
}
