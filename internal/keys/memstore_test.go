package keys

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

// memStore is an in-memory KeyStore that counts reads, for tests that assert
// when Verify does or does not reach the store.
type memStore struct {
	mu   sync.Mutex
	m    map[string]*store.KeyRecord
	gets atomic.Int64
	fail atomic.Bool // every call fails while set
}

func newMemStore() *memStore { return &memStore{m: make(map[string]*store.KeyRecord)} }

var errStoreDown = &storeDownError{}

type storeDownError struct{}

func (*storeDownError) Error() string { return "store down" }

func (s *memStore) Insert(_ context.Context, k *store.KeyRecord) error {
	if s.fail.Load() {
		return errStoreDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[k.ID]; ok {
		return store.ErrExists
	}
	k.UpdatedAt = time.Now()
	s.m[k.ID] = copyRec(k)
	return nil
}

func (s *memStore) Get(_ context.Context, id string) (*store.KeyRecord, error) {
	s.gets.Add(1)
	if s.fail.Load() {
		return nil, errStoreDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.m[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return copyRec(k), nil
}

func (s *memStore) List(context.Context) ([]*store.KeyRecord, error) {
	return s.ChangedSince(context.Background(), time.Time{})
}

func (s *memStore) Revoke(_ context.Context, id string, at time.Time) error {
	if s.fail.Load() {
		return errStoreDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.m[id]
	if !ok {
		return store.ErrNotFound
	}
	if k.RevokedAt == nil {
		k.RevokedAt = &at
	}
	k.UpdatedAt = time.Now()
	return nil
}

func (s *memStore) TouchLastUsed(_ context.Context, used map[string]time.Time) error {
	if s.fail.Load() {
		return errStoreDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range used {
		if k, ok := s.m[id]; ok && (k.LastUsedAt == nil || k.LastUsedAt.Before(t)) {
			k.LastUsedAt = &t
		}
	}
	return nil
}

func (s *memStore) ChangedSince(_ context.Context, since time.Time) ([]*store.KeyRecord, error) {
	if s.fail.Load() {
		return nil, errStoreDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*store.KeyRecord
	for _, k := range s.m {
		if !k.UpdatedAt.Before(since) {
			out = append(out, copyRec(k))
		}
	}
	slices.SortFunc(out, func(a, b *store.KeyRecord) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	return out, nil
}

func copyRec(k *store.KeyRecord) *store.KeyRecord {
	c := *k
	c.Models = slices.Clone(k.Models)
	c.Hash = slices.Clone(k.Hash)
	return &c
}

var _ store.KeyStore = (*memStore)(nil)
