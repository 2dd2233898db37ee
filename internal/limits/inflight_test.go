package limits

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestKeyInFlightBurst sends a burst of twice the cap for one key: exactly
// the cap is admitted, the excess is refused with 429 at once, and every
// slot comes back.
func TestKeyInFlightBurst(t *testing.T) {
	t.Parallel()
	const max = 50
	k := NewKeyInFlight(max)
	var admitted, refused atomic.Int64
	var slow atomic.Int64
	releases := make(chan func(), 2*max)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 2 * max {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			rel, err := k.Acquire("key-a")
			if d := time.Since(t0); d > 50*time.Millisecond {
				slow.Add(1)
			}
			if err != nil {
				if err.Status != http.StatusTooManyRequests || err.Code != CodeRateLimit || err.RetryAfter <= 0 {
					t.Errorf("refusal %+v", err)
				}
				refused.Add(1)
				return
			}
			admitted.Add(1)
			releases <- rel
		})
	}
	close(start)
	wg.Wait()
	close(releases)
	if admitted.Load() != max || refused.Load() != max {
		t.Fatalf("admitted %d, refused %d; want %d each", admitted.Load(), refused.Load(), max)
	}
	if slow.Load() > 0 {
		t.Errorf("%d answers took over 50ms", slow.Load())
	}
	if n := k.InFlight("key-a"); n != max {
		t.Errorf("in flight %d, want %d", n, max)
	}
	if _, err := k.Acquire("key-b"); err != nil {
		t.Errorf("another key refused: %v", err)
	}
	for rel := range releases {
		rel()
		rel() // idempotent
	}
	if n := k.InFlight("key-a"); n != 0 {
		t.Errorf("in flight after release %d, want 0", n)
	}
	if _, ok := k.shard("key-a").n["key-a"]; ok {
		t.Error("an idle key keeps its entry")
	}
}

func BenchmarkKeyInFlight(b *testing.B) {
	k := NewKeyInFlight(1 << 30)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rel, _ := k.Acquire("key")
			rel()
		}
	})
}
