package keys

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

// TestRevocationAcrossInstancesSQLite runs two services on two handles of
// one SQLite file, as two gateway processes would, and checks that a
// revocation on one reaches the other within the cache TTL.
func TestRevocationAcrossInstancesSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rampart.db")
	open := func() store.Store {
		st, err := store.OpenSQLite(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	ttl := 200 * time.Millisecond
	a := NewService(open().Keys(), Options{CacheTTL: ttl})
	stB := open()
	b := NewService(stB.Keys(), Options{CacheTTL: ttl, FlushInterval: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()

	key, rec := mustCreate(t, a, CreateInput{Name: "shared"})
	if _, err := b.Verify(ctx, key); err != nil {
		t.Fatalf("b rejects a key created by a: %v", err)
	}
	waitFor(t, "b flushes the last use", func() bool {
		got, err := stB.Keys().Get(ctx, rec.ID)
		return err == nil && got.LastUsedAt != nil
	})
	if err := a.Revoke(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "b sees the revocation", func() bool {
		_, err := b.Verify(ctx, key)
		return errors.Is(err, ErrRevoked)
	})
	if d := time.Since(start); d > ttl+time.Second {
		t.Errorf("revocation reached b after %v", d)
	}
	cancel()
	<-done
}
