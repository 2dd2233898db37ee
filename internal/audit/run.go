package audit

import (
	"context"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

// Bounds of the background work.
const (
	purgeEvery = time.Hour
	// Captured content is purged more often, so that its size cap holds
	// closely.
	contentPurgeEvery = time.Minute
	purgeBatch        = 1000
	purgeMaxRounds    = 100
	replayEvery       = 5 * time.Second
	opTimeout         = 30 * time.Second
)

// run is the writer goroutine: it commits batches, replays the spool and
// purges old records.
func (w *Writer) run() {
	defer close(w.done)
	w.replay()
	tick := time.NewTicker(w.o.FlushInterval)
	defer tick.Stop()
	replayTick := time.NewTicker(replayEvery)
	defer replayTick.Stop()
	purgeTick := time.NewTicker(purgeEvery)
	defer purgeTick.Stop()
	contentTick := time.NewTicker(contentPurgeEvery)
	defer contentTick.Stop()
	w.purge()
	batch := make([]*store.AuditRecord, 0, w.o.Batch)
	for {
		select {
		case r := <-w.ch:
			batch = append(batch, r)
			if len(batch) >= w.o.Batch {
				batch = w.commit(batch)
			}
		case <-tick.C:
			batch = w.commit(batch)
		case <-replayTick.C:
			w.replay()
		case <-purgeTick.C:
			w.purge()
		case <-contentTick.C:
			w.purgeContent()
		case <-w.stop:
			w.drain(batch)
			return
		}
	}
}

// drain commits what is queued at Close, then replays the spool once.
func (w *Writer) drain(batch []*store.AuditRecord) {
	for {
		select {
		case r := <-w.ch:
			batch = append(batch, r)
			if len(batch) >= w.o.Batch {
				batch = w.commit(batch)
			}
		default:
			w.commit(batch)
			w.replay()
			return
		}
	}
}

// commit writes batch in one transaction. When the store fails, the batch
// goes to the spool (fsynced) to be replayed later. It returns batch emptied.
func (w *Writer) commit(batch []*store.AuditRecord) []*store.AuditRecord {
	if len(batch) == 0 {
		return batch
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	err := w.st.Insert(ctx, batch)
	cancel()
	if err != nil {
		w.log.Warn("audit batch not committed; spooled for replay", "records", len(batch), "err", err)
		w.toSpool(batch, true)
	} else {
		w.written.Add(uint64(len(batch)))
		if w.o.OnCommit != nil {
			ids := make([]string, len(batch))
			for i, r := range batch {
				ids[i] = r.RequestID
			}
			w.o.OnCommit(ids)
		}
	}
	if len(w.ch) < cap(w.ch)/2 {
		w.unhealthy.Store(false)
	}
	clear(batch)
	return batch[:0]
}

// replay moves the spool's records into the store, if there are any and the
// store takes them.
func (w *Writer) replay() {
	if err := w.spool.sync(); err != nil {
		w.log.Warn("audit spool not synced", "err", err)
	}
	n, err := w.spool.replay(func(rs []*store.AuditRecord) error {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		return w.st.Insert(ctx, rs)
	}, w.o.Batch)
	if err != nil {
		w.log.Warn("audit spool replay stopped; it will be retried", "err", err)
	}
	if n > 0 {
		w.written.Add(uint64(n))
		w.log.Info("audit spool replayed", "records", n)
	}
}

// purge deletes records older than the retention, and captured content
// past its own retention or size cap, in bounded batches.
func (w *Writer) purge() {
	w.purgeContent()
	if w.o.Retention <= 0 {
		return
	}
	before := time.Now().Add(-w.o.Retention)
	for range purgeMaxRounds {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		n, err := w.st.Purge(ctx, before, purgeBatch)
		cancel()
		if err != nil {
			w.log.Warn("audit purge failed", "err", err)
			return
		}
		if n < purgeBatch {
			return
		}
	}
}

// purgeContent applies the content capture's retention by age and size.
func (w *Writer) purgeContent() {
	if w.o.ContentRetention <= 0 && w.o.ContentMaxBytes <= 0 {
		return
	}
	var before time.Time // zero: nothing is too old
	if w.o.ContentRetention > 0 {
		before = time.Now().Add(-w.o.ContentRetention)
	}
	for range purgeMaxRounds {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		n, err := w.st.PurgeContent(ctx, before, w.o.ContentMaxBytes, purgeBatch)
		cancel()
		if err != nil {
			w.log.Warn("audit content purge failed", "err", err)
			return
		}
		if n < purgeBatch {
			return
		}
	}
}
