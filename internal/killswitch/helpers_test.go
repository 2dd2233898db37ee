package killswitch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// openStore opens a SQLite store at path, closed at the end of the test.
func openStore(t testing.TB, path string) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// tempStore opens a store in a fresh folder and returns its path too.
func tempStore(t testing.TB) (store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rampart.db")
	return openStore(t, path), path
}

// flakyStore is a KillStore that fails every call while down is set, as a
// store that cannot be reached does.
type flakyStore struct {
	store.KillStore
	down atomic.Bool
}

var errDown = errors.New("store unreachable")

func (f *flakyStore) Put(ctx context.Context, k store.KillRecord) (int64, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.KillStore.Put(ctx, k)
}

func (f *flakyStore) Delete(ctx context.Context, target, actor string, at time.Time) (int64, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.KillStore.Delete(ctx, target, actor, at)
}

func (f *flakyStore) List(ctx context.Context) ([]store.KillRecord, int64, error) {
	if f.down.Load() {
		return nil, 0, errDown
	}
	return f.KillStore.List(ctx)
}

func (f *flakyStore) ChangedSince(ctx context.Context, seq int64) ([]store.KillChange, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.KillStore.ChangedSince(ctx, seq)
}

// prunedStore answers ChangedSince without its first flip, as a log pruned
// past the caller's position does.
type prunedStore struct{ store.KillStore }

func (p prunedStore) ChangedSince(ctx context.Context, seq int64) ([]store.KillChange, error) {
	cs, err := p.KillStore.ChangedSince(ctx, seq)
	if len(cs) > 0 {
		cs = cs[1:]
	}
	return cs, err
}

// events collects flips; safe for concurrent use.
type events struct {
	ch chan Event
}

func newEvents() *events { return &events{ch: make(chan Event, 64)} }

func (e *events) add(ev Event) { e.ch <- ev }

// next returns the next flip or fails the test.
func (e *events) next(t *testing.T) Event {
	t.Helper()
	select {
	case ev := <-e.ch:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no flip recorded")
		return Event{}
	}
}

// none fails the test if a flip was recorded.
func (e *events) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-e.ch:
		t.Fatalf("unexpected flip %+v", ev)
	default:
	}
}

// waitUntil polls cond until it holds, failing the test after 5 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
