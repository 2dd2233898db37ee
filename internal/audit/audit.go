// Package audit keeps the audit trail: one durable row per request, written
// off the request path by a bounded batching writer. A record that the queue
// cannot take is appended to a local spool file and replayed into the store
// later, so that no record is ever dropped silently.
package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/store"
)

// Backpressure policies: what happens when the queue is full.
const (
	// PolicySpool appends the record to the spool file; requests go on.
	PolicySpool = "spool"
	// PolicyRefuse also spools the record, and Healthy turns false until
	// the queue has room again, so that the gateway refuses new requests.
	PolicyRefuse = "refuse"
)

// Options configure a Writer. Zero values take the defaults.
type Options struct {
	Queue         int           // queue capacity; default 10000
	Batch         int           // records per transaction; default 256
	FlushInterval time.Duration // longest wait before a partial batch commits; default 50ms
	Policy        string        // PolicySpool (default) or PolicyRefuse
	SpoolPath     string        // spool file; required
	Retention     time.Duration // records older than this are purged; 0 keeps them
	// ContentRetention and ContentMaxBytes bound the captured content:
	// older content is purged, and the oldest while more is kept. Zero
	// keeps it (until its record is purged).
	ContentRetention time.Duration
	ContentMaxBytes  int64
	Log              *slog.Logger
	// OnCommit, when set, is called with the request IDs of every batch
	// after it was committed.
	OnCommit func(ids []string)
}

// Writer is a proxy sink that writes the audit trail. It is safe for
// concurrent use.
type Writer struct {
	st    store.AuditStore
	o     Options
	log   *slog.Logger
	ch    chan *store.AuditRecord
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	spool *spool

	closed    atomic.Bool
	unhealthy atomic.Bool
	written   atomic.Uint64
	spooled   atomic.Uint64
	dropped   atomic.Uint64
}

// New starts a writer on st. Records left in the spool by an earlier run
// are replayed first, in the background.
func New(st store.AuditStore, o Options) (*Writer, error) {
	if o.Queue <= 0 {
		o.Queue = 10000
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 50 * time.Millisecond
	}
	if o.Policy == "" {
		o.Policy = PolicySpool
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.SpoolPath == "" {
		return nil, errors.New("audit: no spool path")
	}
	sp, err := openSpool(o.SpoolPath)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		st: st, o: o, log: o.Log, spool: sp,
		ch:   make(chan *store.AuditRecord, o.Queue),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go w.run()
	return w, nil
}

// Record queues rec for the audit trail. It never blocks: when the queue is
// full the record goes to the spool file.
func (w *Writer) Record(rec *record.Record) {
	r := FromRecord(rec)
	if !w.closed.Load() {
		select {
		case w.ch <- r:
			return
		default:
		}
	}
	if w.o.Policy == PolicyRefuse {
		w.unhealthy.Store(true)
	}
	w.toSpool([]*store.AuditRecord{r}, false)
}

// toSpool appends rs to the spool, counting a record as dropped only when
// even that fails.
func (w *Writer) toSpool(rs []*store.AuditRecord, sync bool) {
	if err := w.spool.append(rs, sync); err != nil {
		w.dropped.Add(uint64(len(rs)))
		w.log.Error("audit records lost: the spool file cannot be written", "records", len(rs), "err", err)
		return
	}
	w.spooled.Add(uint64(len(rs)))
}

// Healthy reports whether the audit trail keeps up. It is false under the
// refuse policy while the queue is full.
func (w *Writer) Healthy() bool { return !w.unhealthy.Load() }

// Stats are the writer's counters since it started.
type Stats struct {
	Written uint64 // committed to the store
	Spooled uint64 // appended to the spool file
	Dropped uint64 // lost: neither committed nor spooled (should stay 0)
	Queued  int    // waiting in the queue now
}

// Stats returns the writer's counters.
func (w *Writer) Stats() Stats {
	return Stats{Written: w.written.Load(), Spooled: w.spooled.Load(),
		Dropped: w.dropped.Load(), Queued: len(w.ch)}
}

// Close commits every queued record, replays the spool if the store takes
// it, and stops the writer. Records arriving later go to the spool. It
// returns when done or when ctx ends.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() {
		w.closed.Store(true)
		close(w.stop)
	})
	select {
	case <-w.done:
		// A Record that raced with Close may have queued after the last
		// drain; the spool keeps it for the next start.
		for {
			select {
			case r := <-w.ch:
				w.toSpool([]*store.AuditRecord{r}, false)
				continue
			default:
			}
			break
		}
		return w.spool.close()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// FromRecord converts a request record to its audit row. Only the fields
// listed here are kept: no credential, and content only as capture left it
// (DLP-masked).
func FromRecord(rec *record.Record) *store.AuditRecord {
	return &store.AuditRecord{
		RequestID: rec.ID,
		Time:      rec.Start,
		Principal: store.AuditPrincipal{
			Kind: rec.Principal.Kind, ID: rec.Principal.ID,
			Name: rec.Principal.Name, Team: rec.Principal.Team,
		},
		ClientIP:       rec.ClientIP,
		Method:         rec.Method,
		Path:           rec.Path,
		Route:          rec.Route,
		ModelRequested: rec.ModelRequested,
		ModelServed:    rec.ModelServed,
		Upstream:       rec.Upstream,
		Attempts:       rec.Attempts,
		Stream:         rec.Stream,
		Status:         rec.Status,
		Outcome:        rec.Outcome,
		ErrorCode:      rec.ErrorCode,
		Verdicts:       rec.Verdicts(),
		Usage:          rec.Usage,
		TTFT:           rec.TTFT,
		Duration:       rec.Duration,
		GatewayTime:    rec.GatewayTime,
		Content:        content(rec.Content),
	}
}

func content(c *record.Content) *store.AuditContent {
	if c == nil {
		return nil
	}
	return &store.AuditContent{Prompt: c.Prompt, Response: c.Response}
}
