package limits

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
)

// TestMemoryRate drives twice the allowed demand through ten simulated
// minutes and checks that the admitted rate and the settled tokens stay
// within 2% of the limits.
func TestMemoryRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		rule   Rule
		demand int // requests per simulated minute
		check  func(t *testing.T, admitted, tokens int64)
	}{
		{"600 requests per minute", Rule{Name: "rpm", By: []Dimension{DimKey}, Window: Minute, Requests: 600}, 1200,
			func(t *testing.T, admitted, _ int64) { within(t, "requests", admitted, 6000) }},
		{"20000 tokens per minute", Rule{Name: "tpm", By: []Dimension{DimKey}, Window: Minute, TotalTokens: 20000}, 1200,
			func(t *testing.T, _, tokens int64) {
				within(t, "tokens", tokens, 200000)
				if tokens > 200000 {
					t.Errorf("tokens %d exceed the limit", tokens)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0)
			l := mustNew(t, []Rule{tt.rule}, NewMemory(MemoryOptions{}), Options{Now: clk.Now})
			rng := rand.New(rand.NewPCG(1, 2))
			step := time.Minute / time.Duration(tt.demand)
			var admitted, tokens int64
			for i := 0; i < 10*tt.demand; i++ {
				r, d, err := l.Admit(context.Background(), Subject{Key: "k"}, Estimate{InputTokens: 20, MaxOutputTokens: 80})
				if err != nil {
					t.Fatal(err)
				}
				if d == nil {
					out := 10 + rng.Int64N(71)
					admitted++
					tokens += 20 + out
					if err := r.Settle(context.Background(), Usage{InputTokens: 20, OutputTokens: out}); err != nil {
						t.Fatal(err)
					}
				}
				clk.Advance(step)
			}
			tt.check(t, admitted, tokens)
		})
	}
}

// within fails unless got is within 2% of want.
func within(t *testing.T, what string, got, want int64) {
	t.Helper()
	if d := float64(got-want) / float64(want); d > 0.02 || d < -0.02 {
		t.Errorf("%s = %d, want %d ±2%% (off by %.2f%%)", what, got, want, 100*d)
	} else {
		t.Logf("%s = %d, want %d (off by %.2f%%)", what, got, want, 100*d)
	}
}

func TestDenials(t *testing.T) {
	t.Parallel()
	prices := map[string]Price{"deepseek-*": {InputCacheHit: 0.028, InputCacheMiss: 0.28, Output: 0.42}}
	tests := []struct {
		desc      string
		rule      Rule
		model     string
		admits    int // admissions that must succeed first (not settled)
		code      string
		quantity  string
		typ       string
		retry     time.Duration
		remaining map[string]string
	}{
		{"requests per minute", Rule{Name: "rpm", Window: Minute, Requests: 2}, "m", 2, CodeRateLimit, "requests", "requests", 30 * time.Second,
			map[string]string{"x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "30s"}},
		{"tokens per minute", Rule{Name: "tpm", Window: Minute, TotalTokens: 250}, "m", 2, CodeRateLimit, "total_tokens", "tokens", 30 * time.Second,
			map[string]string{"x-ratelimit-limit-tokens": "250", "x-ratelimit-remaining-tokens": "50"}},
		{"daily requests are a quota", Rule{Name: "daily", Window: Day, Requests: 1}, "m", 1, CodeQuota, "requests", CodeQuota, 8*time.Hour + 50*time.Minute + 30*time.Second, nil},
		{"cost budget", Rule{Name: "budget", Window: Month, Cost: 0.0001}, "deepseek-chat", 2, CodeQuota, "cost", CodeQuota, 0, nil},
		{"unpriced model under a cost rule", Rule{Name: "budget", Window: Month, Cost: 1}, "llama", 0, CodeQuota, "cost", CodeQuota, 0, nil},
		{"concurrency", Rule{Name: "conc", Concurrent: 1}, "m", 1, CodeRateLimit, "concurrent", "requests", time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			clk := newClock(t0.Add(30 * time.Second))
			l := mustNew(t, []Rule{tt.rule}, NewMemory(MemoryOptions{}), Options{Now: clk.Now, Prices: prices})
			est := Estimate{InputTokens: 50, MaxOutputTokens: 50}
			for i := 0; i < tt.admits; i++ {
				if _, d, err := l.Admit(context.Background(), Subject{Model: tt.model}, est); err != nil || d != nil {
					t.Fatalf("admission %d: denial %+v, err %v", i, d, err)
				}
			}
			_, d, err := l.Admit(context.Background(), Subject{Model: tt.model}, est)
			if err != nil || d == nil {
				t.Fatalf("want a denial, got denial %v, err %v", d, err)
			}
			if d.Code != tt.code || d.Quantity != tt.quantity || d.Rule != tt.rule.Name {
				t.Errorf("denial = %s/%s/%s, want %s/%s/%s", d.Rule, d.Code, d.Quantity, tt.rule.Name, tt.code, tt.quantity)
			}
			if tt.retry > 0 && d.RetryAfter != tt.retry {
				t.Errorf("RetryAfter = %v, want %v", d.RetryAfter, tt.retry)
			}
			for k, v := range tt.remaining {
				if d.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, d.Headers[k], v)
				}
			}
			e := d.APIError()
			if e.Status != http.StatusTooManyRequests || e.Code != tt.code || e.Type != tt.typ || e.Message == "" {
				t.Errorf("APIError = %d %s %s %q", e.Status, e.Type, e.Code, e.Message)
			}
		})
	}
}

func TestSettle(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	rules := []Rule{
		{Name: "tpm", Window: Minute, InputTokens: 1000, OutputTokens: 1000, TotalTokens: 1000, Requests: 100},
		{Name: "budget", Window: Month, Cost: 1},
		{Name: "conc", Concurrent: 1},
	}
	prices := map[string]Price{"deepseek-chat": {InputCacheHit: 0.028, InputCacheMiss: 0.28, Output: 0.42}}
	m := NewMemory(MemoryOptions{})
	l := mustNew(t, rules, m, Options{Now: clk.Now, Prices: prices})
	subj := Subject{Model: "deepseek-chat"}
	r, d, err := l.Admit(context.Background(), subj, Estimate{InputTokens: 300, MaxOutputTokens: 500})
	if err != nil || d != nil {
		t.Fatalf("admit: %v %v", d, err)
	}
	h := r.Headers()
	if h["x-ratelimit-remaining-tokens"] != "200" || h["x-ratelimit-remaining-requests"] != "99" || h["x-ratelimit-reset-tokens"] != "1m0s" {
		t.Errorf("headers after reserving 800 tokens: %v", h)
	}
	// The client went away: the context is cancelled, settlement still runs.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Settle(ctx, Usage{InputTokens: 300, CachedInputTokens: 100, OutputTokens: 20}); err != nil {
		t.Fatal(err)
	}
	if err := r.Settle(context.Background(), Usage{InputTokens: 999, OutputTokens: 999}); err != nil {
		t.Fatal(err)
	}
	start, _ := Minute.span(t0)
	mstart, _ := Month.span(t0)
	want := map[string]int64{
		counterKey("{tpm}", qInput, start.Unix()):    300,
		counterKey("{tpm}", qOutput, start.Unix()):   20,
		counterKey("{tpm}", qTotal, start.Unix()):    320,
		counterKey("{tpm}", qRequests, start.Unix()): 1,
		counterKey("{budget}", qCost, mstart.Unix()): 100*28 + 200*280 + 20*420,
		counterKey("{conc}", qConcurrent, 0):         0,
	}
	for k, v := range want {
		if got := memValue(m, k, clk.Now()); got != v {
			t.Errorf("%s = %d, want %d", k, got, v)
		}
	}
}

// memValue reads a counter of a Memory backend.
func memValue(m *Memory, key string, now time.Time) int64 {
	s := &m.shards[m.shard(key)]
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[key]
	if e.exp <= now.UnixNano() {
		return 0
	}
	return e.val
}

// TestConcurrentExact admits and settles from many goroutines at once; the
// counters must end equal to the sum of the actual usage.
func TestConcurrentExact(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	m := NewMemory(MemoryOptions{Shards: 4})
	rules := []Rule{
		{Name: "big", By: []Dimension{DimKey}, Window: Hour, TotalTokens: 1 << 40, Requests: 1 << 40},
		{Name: "team", By: []Dimension{DimTeam}, Window: Hour, OutputTokens: 1 << 40, Concurrent: 1000},
	}
	l := mustNew(t, rules, m, Options{Now: clk.Now})
	const workers, each = 8, 500
	var total, out atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range each {
				r, d, err := l.Admit(context.Background(), Subject{Key: "k", Team: "t"}, Estimate{InputTokens: 100, MaxOutputTokens: 200})
				if err != nil || d != nil {
					t.Errorf("admit: %v %v", d, err)
					return
				}
				u := Usage{InputTokens: rng.Int64N(150), OutputTokens: rng.Int64N(250)}
				total.Add(u.InputTokens + u.OutputTokens)
				out.Add(u.OutputTokens)
				if err := r.Settle(context.Background(), u); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	start, _ := Hour.span(t0)
	checks := map[string]int64{
		counterKey("{big:k}", qTotal, start.Unix()):    total.Load(),
		counterKey("{big:k}", qRequests, start.Unix()): workers * each,
		counterKey("{team:t}", qOutput, start.Unix()):  out.Load(),
		counterKey("{team:t}", qConcurrent, 0):         0,
	}
	for k, v := range checks {
		if got := memValue(m, k, clk.Now()); got != v {
			t.Errorf("%s = %d, want %d", k, got, v)
		}
	}
}

// TestConcurrencyBurst sends twice the cap at once: exactly the cap is
// admitted and the excess is refused at once, without queueing.
func TestConcurrencyBurst(t *testing.T) {
	t.Parallel()
	const limit = 16
	l := mustNew(t, []Rule{{Name: "conc", By: []Dimension{DimKey}, Concurrent: limit}}, NewMemory(MemoryOptions{}), Options{})
	var admitted, denied atomic.Int64
	var slow atomic.Int64
	held := make(chan *Reservation, 2*limit)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 2 * limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			r, d, err := l.Admit(context.Background(), Subject{Key: "k"}, Estimate{})
			if time.Since(t0) > 50*time.Millisecond {
				slow.Add(1)
			}
			switch {
			case err != nil:
				t.Error(err)
			case d != nil:
				denied.Add(1)
			default:
				admitted.Add(1)
				held <- r
			}
		}()
	}
	close(start)
	wg.Wait()
	close(held)
	if admitted.Load() != limit || denied.Load() != limit || slow.Load() != 0 {
		t.Fatalf("admitted %d, denied %d, slower than 50ms %d; want %d, %d, 0", admitted.Load(), denied.Load(), slow.Load(), limit, limit)
	}
	for r := range held {
		if err := r.Settle(context.Background(), Usage{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, d, err := l.Admit(context.Background(), Subject{Key: "k"}, Estimate{}); d != nil || err != nil {
		t.Errorf("after settling every slot: %v %v", d, err)
	}
}

// failing is a Backend that is down.
type failing struct{ calls atomic.Int64 }

var errDown = errors.New("connection refused")

func (f *failing) Reserve(context.Context, time.Time, []Op, []int64) (int, error) {
	f.calls.Add(1)
	return -1, errDown
}

func (f *failing) Adjust(context.Context, time.Time, []Op) error {
	f.calls.Add(1)
	return errDown
}

func TestFailMode(t *testing.T) {
	t.Parallel()
	rules := []Rule{{Name: "rpm", Window: Minute, Requests: 1}}
	t.Run("closed", func(t *testing.T) {
		t.Parallel()
		var hook atomic.Int64
		l := mustNew(t, rules, &failing{}, Options{Logger: quiet, OnBackendError: func(op string, fb bool, err error) {
			if op == "admit" && !fb && errors.Is(err, errDown) {
				hook.Add(1)
			}
		}})
		r, d, err := l.Admit(context.Background(), Subject{}, Estimate{})
		if r != nil || d != nil || !errors.Is(err, ErrUnavailable) || !errors.Is(err, errDown) {
			t.Fatalf("Admit = %v, %v, %v; want ErrUnavailable", r, d, err)
		}
		if e := apierr.From(err); e.Status != http.StatusServiceUnavailable || e.Code != "limits_unavailable" {
			t.Errorf("apierr = %d %s", e.Status, e.Code)
		}
		if hook.Load() != 1 {
			t.Errorf("metric hook called %d times, want 1", hook.Load())
		}
	})
	t.Run("local", func(t *testing.T) {
		t.Parallel()
		f := &failing{}
		fb := NewMemory(MemoryOptions{})
		l := mustNew(t, rules, f, Options{Logger: quiet, FailMode: FailLocal, Fallback: fb})
		r, d, err := l.Admit(context.Background(), Subject{}, Estimate{})
		if err != nil || d != nil {
			t.Fatalf("Admit = %v, %v", d, err)
		}
		if _, d, _ = l.Admit(context.Background(), Subject{}, Estimate{}); d == nil {
			t.Error("the local fallback did not enforce the limit")
		}
		if err := r.Settle(context.Background(), Usage{}); err != nil {
			t.Errorf("settle on the fallback: %v", err)
		}
		if fb.Len() == 0 || f.calls.Load() != 2 {
			t.Errorf("fallback entries %d, backend calls %d", fb.Len(), f.calls.Load())
		}
	})
	t.Run("cancelled context is not an outage", func(t *testing.T) {
		t.Parallel()
		var hook atomic.Int64
		l := mustNew(t, rules, &failing{}, Options{Logger: quiet, OnBackendError: func(string, bool, error) { hook.Add(1) }})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := l.Admit(ctx, Subject{}, Estimate{})
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) || hook.Load() != 0 {
			t.Errorf("err = %v, hook %d", err, hook.Load())
		}
	})
}

func TestNoRuleApplies(t *testing.T) {
	t.Parallel()
	l := mustNew(t, []Rule{{Name: "x", Match: Selector{Key: []string{"other"}}, Window: Minute, Requests: 1}}, &failing{}, Options{})
	r, d, err := l.Admit(context.Background(), Subject{Key: "mine"}, Estimate{})
	if r == nil || d != nil || err != nil || len(r.Headers()) != 0 {
		t.Fatalf("Admit = %v, %v, %v", r, d, err)
	}
	if err := r.Settle(context.Background(), Usage{}); err != nil {
		t.Fatal(err)
	}
}
