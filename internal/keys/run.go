package keys

import (
	"context"
	"log/slog"
	"time"
)

const (
	// fullSyncInterval is how often the whole key table is re-read. It
	// repairs anything the incremental refresh could miss, such as a change
	// written by an instance whose clock lags by more than syncOverlap.
	fullSyncInterval = time.Minute
	// syncOverlap is subtracted from the start of the previous refresh when
	// asking for changes, to cover clock skew between instances and writes
	// whose transaction committed after their updated_at was taken.
	syncOverlap = 10 * time.Second
	// finalFlushTimeout bounds the last flush when Run stops.
	finalFlushTimeout = 5 * time.Second
)

// Run keeps the cache in step with the store until ctx ends: it re-reads
// keys changed by any instance every CacheTTL/2 (so that, query time
// included, a revocation takes effect within CacheTTL), re-reads the whole
// table every minute, and writes last-use times in batches every
// FlushInterval and once more when ctx ends.
func (s *Service) Run(ctx context.Context) {
	s.fullSync(ctx)
	refresh := time.NewTicker(max(s.opts.CacheTTL/2, time.Millisecond))
	full := time.NewTicker(fullSyncInterval)
	flush := time.NewTicker(s.opts.FlushInterval)
	defer refresh.Stop()
	defer full.Stop()
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
			s.Flush(fctx)
			cancel()
			return
		case <-refresh.C:
			s.refresh(ctx)
		case <-full.C:
			s.fullSync(ctx)
		case <-flush.C:
			s.Flush(ctx)
		}
	}
}

// fullSync replaces the cache with the whole key table.
func (s *Service) fullSync(ctx context.Context) {
	start := s.opts.Now()
	all, err := s.st.List(ctx)
	if err != nil {
		s.logSyncError(ctx, "full", err)
		return
	}
	entries := make([]*entry, len(all))
	for i, rec := range all {
		entries[i] = newEntry(rec, start)
	}
	s.cache.replaceAll(entries)
	s.cache.synced.Store(start.UnixNano())
}

// refresh applies the keys changed since shortly before the last refresh.
func (s *Service) refresh(ctx context.Context) {
	start := s.opts.Now()
	since := time.Unix(0, s.cache.synced.Load()).Add(-syncOverlap)
	changed, err := s.st.ChangedSince(ctx, since)
	if err != nil {
		s.logSyncError(ctx, "incremental", err)
		return
	}
	s.cache.mu.Lock()
	for _, rec := range changed {
		s.cache.putLocked(newEntry(rec, start))
	}
	s.cache.mu.Unlock()
	s.cache.synced.Store(start.UnixNano())
}

func (s *Service) logSyncError(ctx context.Context, kind string, err error) {
	if ctx.Err() != nil {
		return
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, "api key cache refresh failed; cached keys expire after the cache TTL",
		slog.String("sync", kind), slog.Any("error", err))
}

// Flush writes the pending last-use times to the store in one batch.
func (s *Service) Flush(ctx context.Context) {
	pending := s.cache.unflushed()
	if len(pending) == 0 {
		return
	}
	if err := s.st.TouchLastUsed(ctx, pending); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "writing api key last-use times failed",
			slog.Int("keys", len(pending)), slog.Any("error", err))
		return
	}
	s.cache.markFlushed(pending)
}
