package keys

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct{ n atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.n.Store(time.Unix(1800000000, 0).UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.n.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.n.Add(int64(d)) }

// newTestService returns a service over a fresh memStore.
func newTestService(t testing.TB, opts Options) (*Service, *memStore) {
	t.Helper()
	ms := newMemStore()
	return NewService(ms, opts), ms
}

func mustCreate(t testing.TB, s *Service, in CreateInput) (string, *store.KeyRecord) {
	t.Helper()
	key, rec, err := s.Create(context.Background(), in)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return key, rec
}

func TestVerifyReasons(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s, _ := newTestService(t, Options{Now: clock.Now})
	ctx := t.Context()
	good, _ := mustCreate(t, s, CreateInput{Name: "good", Models: []string{"r1"}})
	revoked, rrec := mustCreate(t, s, CreateInput{Name: "revoked"})
	if err := s.Revoke(ctx, rrec.ID); err != nil {
		t.Fatal(err)
	}
	expiring, _ := mustCreate(t, s, CreateInput{Name: "expiring", ExpiresIn: time.Hour})
	clock.Advance(time.Hour)
	wrong := good[:len(good)-1] + flip(good[len(good)-1])
	unknown, _, _ := newToken()

	for _, c := range []struct {
		desc   string
		token  string
		reason error
	}{
		{"valid key", good, nil},
		{"empty", "", ErrMalformed},
		{"malformed", "rk-nope", ErrMalformed},
		{"bearer prefix left in", "Bearer " + good, ErrMalformed},
		{"unknown id", unknown, ErrUnknownKey},
		{"wrong secret", wrong, ErrWrongSecret},
		{"revoked", revoked, ErrRevoked},
		{"expired", expiring, ErrExpired},
	} {
		rec, err := s.Verify(ctx, c.token)
		if c.reason == nil {
			if err != nil || rec == nil || rec.Name != "good" || rec.Models[0] != "r1" {
				t.Errorf("%s: Verify = %+v, %v", c.desc, rec, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidKey) || !errors.Is(err, c.reason) || rec != nil {
			t.Errorf("%s: Verify error %v, want ErrInvalidKey wrapping %v", c.desc, err, c.reason)
		}
	}
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func TestVerifyCachedDoesNotReadStore(t *testing.T) {
	t.Parallel()
	s, ms := newTestService(t, Options{CacheTTL: time.Hour})
	key, _ := mustCreate(t, s, CreateInput{Name: "k"})
	for range 100 {
		if _, err := s.Verify(t.Context(), key); err != nil {
			t.Fatal(err)
		}
	}
	if n := ms.gets.Load(); n != 0 {
		t.Errorf("%d store reads for a cached key, want 0", n)
	}
}

func TestVerifyRereadsStaleEntryWithoutRun(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	ms := newMemStore()
	a := NewService(ms, Options{Now: clock.Now, CacheTTL: 2 * time.Second})
	b := NewService(ms, Options{Now: clock.Now, CacheTTL: 2 * time.Second})
	key, rec := mustCreate(t, a, CreateInput{Name: "k"})
	if _, err := b.Verify(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(t.Context(), rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(t.Context(), key); err != nil {
		t.Fatalf("within the TTL the cached key is still trusted: %v", err)
	}
	clock.Advance(2 * time.Second)
	if _, err := b.Verify(t.Context(), key); !errors.Is(err, ErrRevoked) {
		t.Errorf("after the TTL: %v, want ErrRevoked", err)
	}
}

func TestVerifyNegativeCache(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s, ms := newTestService(t, Options{Now: clock.Now})
	unknown, _, _ := newToken()
	for range 10 {
		if _, err := s.Verify(t.Context(), unknown); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("Verify unknown: %v", err)
		}
	}
	if n := ms.gets.Load(); n != 1 {
		t.Errorf("%d store reads for one unknown id, want 1", n)
	}
	clock.Advance(DefaultCacheTTL)
	_, _ = s.Verify(t.Context(), unknown)
	if n := ms.gets.Load(); n != 2 {
		t.Errorf("after the negative TTL: %d store reads, want 2", n)
	}
}

func TestVerifyThrottlesRandomIDs(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s, ms := newTestService(t, Options{Now: clock.Now, MissRate: 10, MissBurst: 20})
	throttled := 0
	for range 500 {
		tok, _, _ := newToken()
		_, err := s.Verify(t.Context(), tok)
		if !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("random key: %v", err)
		}
		if errors.Is(err, ErrThrottled) {
			throttled++
		}
	}
	if n := ms.gets.Load(); n != 20 {
		t.Errorf("%d store reads for 500 random ids, want the burst of 20", n)
	}
	if throttled != 480 {
		t.Errorf("%d throttled, want 480", throttled)
	}
	clock.Advance(time.Second)
	for range 50 {
		tok, _, _ := newToken()
		_, _ = s.Verify(t.Context(), tok)
	}
	if n := ms.gets.Load(); n != 30 {
		t.Errorf("after 1s at 10/s: %d store reads, want 30", n)
	}
}

func TestVerifyKnownKeyNotThrottled(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s, _ := newTestService(t, Options{Now: clock.Now, MissRate: 1, MissBurst: 1})
	key, _ := mustCreate(t, s, CreateInput{Name: "k"})
	for range 5 {
		tok, _, _ := newToken()
		_, _ = s.Verify(t.Context(), tok)
	}
	// The cached key goes stale and must be re-read even though the miss
	// budget is spent.
	clock.Advance(time.Minute)
	if _, err := s.Verify(t.Context(), key); err != nil {
		t.Errorf("known key after a flood of unknown ids: %v", err)
	}
}

func TestVerifyStoreErrorIsNotInvalidKey(t *testing.T) {
	t.Parallel()
	s, ms := newTestService(t, Options{})
	ms.fail.Store(true)
	tok, _, _ := newToken()
	_, err := s.Verify(t.Context(), tok)
	if err == nil || errors.Is(err, ErrInvalidKey) || !errors.Is(err, errStoreDown) {
		t.Errorf("Verify with the store down: %v, want the store error", err)
	}
}

func TestRunPicksUpRemoteChanges(t *testing.T) {
	t.Parallel()
	ms := newMemStore()
	ttl := 100 * time.Millisecond
	a := NewService(ms, Options{CacheTTL: ttl})
	b := NewService(ms, Options{CacheTTL: ttl})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()

	key, rec := mustCreate(t, a, CreateInput{Name: "k"})
	waitFor(t, "b accepts the new key", func() bool { _, err := b.Verify(ctx, key); return err == nil })
	readsBefore := ms.gets.Load()
	if err := a.Revoke(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "b sees the revocation", func() bool {
		_, err := b.Verify(ctx, key)
		return errors.Is(err, ErrRevoked)
	})
	if d := time.Since(start); d > 2*ttl+time.Second {
		t.Errorf("revocation took %v to reach b", d)
	}
	if n := ms.gets.Load() - readsBefore; n > 1 {
		t.Errorf("b read the store %d times per key while Run kept the cache fresh", n)
	}
	cancel()
	<-done
}

func TestFlushWritesLastUsedInBatches(t *testing.T) {
	t.Parallel()
	s, ms := newTestService(t, Options{})
	k1, r1 := mustCreate(t, s, CreateInput{Name: "one"})
	_, r2 := mustCreate(t, s, CreateInput{Name: "two"})
	if _, err := s.Verify(t.Context(), k1); err != nil {
		t.Fatal(err)
	}
	if got, _ := ms.Get(t.Context(), r1.ID); got.LastUsedAt != nil {
		t.Fatal("Verify wrote to the store")
	}
	s.Flush(t.Context())
	if got, _ := ms.Get(t.Context(), r1.ID); got.LastUsedAt == nil {
		t.Error("Flush did not record the use")
	}
	if got, _ := ms.Get(t.Context(), r2.ID); got.LastUsedAt != nil {
		t.Error("Flush recorded a use of an unused key")
	}
	if pending := s.cache.unflushed(); len(pending) != 0 {
		t.Errorf("still pending after Flush: %v", pending)
	}
}

func TestRunFlushesOnStop(t *testing.T) {
	t.Parallel()
	s, ms := newTestService(t, Options{FlushInterval: time.Hour})
	key, rec := mustCreate(t, s, CreateInput{Name: "k"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	if _, err := s.Verify(ctx, key); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if got, _ := ms.Get(t.Context(), rec.ID); got.LastUsedAt == nil {
		t.Error("last use lost when Run stopped")
	}
}

func TestRefreshDoesNotUndoLocalRevocation(t *testing.T) {
	t.Parallel()
	s, ms := newTestService(t, Options{})
	key, rec := mustCreate(t, s, CreateInput{Name: "k"})
	stale, _ := ms.Get(t.Context(), rec.ID)
	if err := s.Revoke(t.Context(), rec.ID); err != nil {
		t.Fatal(err)
	}
	// A refresh that read the store just before the revocation.
	s.cache.put(newEntry(stale, time.Now()))
	if _, err := s.Verify(t.Context(), key); !errors.Is(err, ErrRevoked) {
		t.Errorf("Verify after a stale refresh: %v, want ErrRevoked", err)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t, Options{CacheTTL: time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go s.Run(ctx)
	var keys []string
	var ids []string
	for i := range 4 {
		k, r := mustCreate(t, s, CreateInput{Name: strings.Repeat("k", i+1)})
		keys, ids = append(keys, k), append(ids, r.ID)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				_, _ = s.Verify(ctx, keys[(g+i)%len(keys)])
			}
		})
	}
	wg.Go(func() {
		for _, id := range ids[:2] {
			_ = s.Revoke(ctx, id)
		}
		s.Flush(ctx)
	})
	wg.Wait()
	for i, k := range keys {
		_, err := s.Verify(ctx, k)
		if (i < 2) != errors.Is(err, ErrRevoked) {
			t.Errorf("key %d: %v", i, err)
		}
	}
}

// waitFor polls cond every 5 ms for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	s, _ := newTestService(b, Options{CacheTTL: time.Hour})
	key, _ := mustCreate(b, s, CreateInput{Name: "bench", Models: []string{"deepseek-*"}})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCachedParallel(b *testing.B) {
	s, _ := newTestService(b, Options{CacheTTL: time.Hour})
	key, _ := mustCreate(b, s, CreateInput{Name: "bench"})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Verify(ctx, key); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkVerifyWrongSecret(b *testing.B) {
	s, _ := newTestService(b, Options{CacheTTL: time.Hour})
	key, _ := mustCreate(b, s, CreateInput{Name: "bench"})
	wrong := key[:len(key)-1] + flip(key[len(key)-1])
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(ctx, wrong); err == nil {
			b.Fatal("accepted")
		}
	}
}
