// Package killswitch cuts traffic to an upstream, a model, a route or
// everything at once. A kill takes effect for new requests immediately,
// ends the streams in flight on the killed target, and is persisted in the
// store so that a restart keeps it and every instance sharing the store
// applies it within a poll interval. Every flip is recorded with its actor
// and reason.
package killswitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

// Global is the target that cuts every upstream.
const Global = "*"

// DefaultPollInterval is how often the store is asked for flips made by
// other instances: a kill reaches every instance within this interval plus
// one query.
const DefaultPollInterval = 250 * time.Millisecond

const (
	// writeTimeout bounds a flip's store write.
	writeTimeout = 10 * time.Second
	// errorLogEvery rate-limits the log of a failing poll.
	errorLogEvery = 30 * time.Second
)

// Kill is one active kill.
type Kill struct {
	Target string    `json:"target"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// same reports whether two kills are the same flip.
func (k Kill) same(o Kill) bool {
	return k.Target == o.Target && k.Actor == o.Actor && k.Reason == o.Reason && k.At.Equal(o.At)
}

// Event is one flip, for the log and the audit trail.
type Event struct {
	Kill
	Action string `json:"action"` // kill or revive
	// Remote is set when the flip was made by another instance and read
	// from the store.
	Remote bool `json:"remote,omitempty"`
}

// Options configure a Switch.
type Options struct {
	// Store persists the kills and carries them between instances. Nil
	// keeps them in memory only (tests).
	Store store.KillStore
	// ImportFile is the JSON file of an older version. When it exists at
	// Open, its kills are written to the store and it is renamed with the
	// suffix ".imported".
	ImportFile string
	// OnFlip, when set, is called after every flip, local or remote.
	OnFlip func(Event)
	// Cause is the cancellation cause of the calls in flight that a kill
	// made by another instance cuts.
	Cause error
	// PollInterval is how often Run asks the store for flips made
	// elsewhere; zero means DefaultPollInterval.
	PollInterval time.Duration
	// Log receives poll errors (rate-limited); nil means slog.Default().
	Log *slog.Logger
}

// Switch holds the active kills. It is safe for concurrent use; Killed is
// lock-free, because every request asks it.
type Switch struct {
	opts Options
	now  func() time.Time

	active atomic.Pointer[map[string]Kill]
	static atomic.Pointer[map[string]Kill] // kills declared in the configuration

	// flip serialises changes of the kills: local flips, the application
	// of remote ones and seq.
	flip sync.Mutex
	seq  int64 // the last store flip applied

	// pollErrs counts failed polls since the last logged one; lastLog is
	// when a poll error was last logged. Both are guarded by flip.
	pollErrs int
	lastLog  time.Time

	// pending are kills in force here that the store could not save yet
	// (Kill); each poll tries to save them. Guarded by flip.
	pending map[string]pendingKill

	// tripped are kills in force at once, before flip is free
	// (a poll of a store that hangs may hold it for a second): a kill is
	// put here, then recorded as usual under flip, then taken out.
	tripped atomic.Pointer[map[string]Kill]
	tmu     sync.Mutex // serialises changes of tripped

	mu      sync.Mutex // guards streams
	streams map[*registration]struct{}
}

// pendingKill is a kill the store could not save yet. overSaved is set
// when it replaced a kill of its target that the store holds, which a
// revival must then lift in the store.
type pendingKill struct {
	Kill
	overSaved bool
}

// registration is one request in flight and what it uses.
type registration struct {
	targets [3]string // upstream, model, route
	cancel  context.CancelCauseFunc
}

// ErrUnknownTarget is returned by Revive for a target that is not killed.
var ErrUnknownTarget = errors.New("target is not killed")

// Open imports the kills of o.ImportFile into the store, then loads the
// kills from the store. A store that cannot be read fails Open: the gateway
// must not start with kills forgotten.
func Open(ctx context.Context, o Options) (*Switch, error) {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Cause == nil {
		o.Cause = errors.New("killed by the kill switch")
	}
	s := &Switch{opts: o, now: time.Now, streams: map[*registration]struct{}{}}
	m := map[string]Kill{}
	s.active.Store(&m)
	if o.Store == nil {
		return s, nil
	}
	if o.ImportFile != "" {
		if err := importFile(ctx, o.ImportFile, o.Store); err != nil {
			return nil, err
		}
	}
	list, seq, err := o.Store.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("kill switch state: %w", err)
	}
	for _, r := range list {
		m[r.Target] = fromRecord(r)
	}
	s.seq = seq
	return s, nil
}

// importFile writes the kills of an older version's JSON file to st and
// renames the file, so that the import happens once.
func importFile(ctx context.Context, path string, st store.KillStore) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kill switch state: %w", err)
	}
	var list []Kill
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("kill switch state %s: %w", path, err)
	}
	for _, k := range list {
		if k.Target == "" {
			continue
		}
		if _, err := st.Put(ctx, store.KillRecord{Target: k.Target, Actor: k.Actor, Reason: k.Reason, At: k.At}); err != nil {
			return fmt.Errorf("kill switch import of %s: %w", path, err)
		}
	}
	if err := os.Rename(path, path+".imported"); err != nil {
		return fmt.Errorf("kill switch import of %s: %w", path, err)
	}
	return nil
}

// fromRecord converts a stored kill.
func fromRecord(r store.KillRecord) Kill {
	return Kill{Target: r.Target, Actor: r.Actor, Reason: r.Reason, At: r.At.UTC()}
}

// Killed returns the kill that cuts a request to upstream for model on
// route, if any: the global kill first, then the upstream, the model, the
// route.
func (s *Switch) Killed(upstream, model, route string) (Kill, bool) {
	for _, m := range [...]*map[string]Kill{s.active.Load(), s.static.Load(), s.tripped.Load()} {
		if m == nil || len(*m) == 0 {
			continue
		}
		for _, t := range [...]string{Global, upstream, model, route} {
			if k, ok := (*m)[t]; ok && t != "" {
				return k, true
			}
		}
	}
	return Kill{}, false
}

// SetStatic replaces the kills declared in the configuration. They are not
// persisted (the configuration is their record) and Revive does not lift
// them; calls in flight on a newly listed target are cancelled with cause.
func (s *Switch) SetStatic(targets []string, cause error) {
	s.flip.Lock()
	defer s.flip.Unlock()
	old := s.static.Load()
	m := make(map[string]Kill, len(targets))
	for _, t := range targets {
		m[t] = Kill{Target: t, Actor: "config", Reason: "listed in the configuration", At: s.now().UTC()}
		if old != nil {
			if _, was := (*old)[t]; was {
				m[t] = (*old)[t]
				continue
			}
		}
		s.cancel(t, cause)
		s.notify(Event{Kill: m[t], Action: "kill"})
	}
	s.static.Store(&m)
}

// cancel cancels the registered calls that target cuts.
func (s *Switch) cancel(target string, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := range s.streams {
		if target == Global || r.targets[0] == target || r.targets[1] == target || r.targets[2] == target {
			r.cancel(cause)
		}
	}
}

func (s *Switch) notify(ev Event) {
	if s.opts.OnFlip != nil {
		s.opts.OnFlip(ev)
	}
}

// Kill cuts target: new requests to it are refused and calls in flight on
// it are cancelled with cause, at once, and then the kill is written to the
// store, which carries it to the other instances and keeps it across
// restarts. It fails closed: a store that hangs does not delay the cut, and
// when the store cannot save the kill it stays in force here, is saved by a
// later poll, and the store's error is returned. Both the admin API and the
// kill triggers use it; a kill is the answer to an incident, and a database
// outage may be part of the same incident.
func (s *Switch) Kill(target, actor, reason string, cause error) error {
	k, err := s.cut(target, actor, reason, cause)
	if err != nil {
		return err
	}
	return s.record(k, cause)
}

// KillWithin is Kill for a caller that must answer soon, the admin API: the
// kill is in force when it returns, and it waits for the store at most
// wait. When the store has not answered by then it returns ErrNotSavedYet;
// the write goes on, bounded as Kill's is, and a kill it cannot save is
// saved by a later poll.
func (s *Switch) KillWithin(wait time.Duration, target, actor, reason string, cause error) error {
	k, err := s.cut(target, actor, reason, cause)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.record(k, cause) }()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return ErrNotSavedYet
	}
}

// ErrNotSavedYet is returned by KillWithin when the store has not answered
// in time; the kill is in force on this instance.
var ErrNotSavedYet = errors.New("kill switch: the store has not answered yet (in force on this instance; it is saved when the store answers)")

// cut puts the kill of target in force at once, without waiting for flip,
// and cancels the calls in flight on it.
func (s *Switch) cut(target, actor, reason string, cause error) (Kill, error) {
	if target == "" {
		return Kill{}, errors.New("kill: empty target")
	}
	k := Kill{Target: target, Actor: actor, Reason: reason, At: s.now().UTC()}
	s.trip(k)
	s.cancel(target, cause)
	return k, nil
}

// record makes k, already cut, one of the kills proper and writes it to the
// store; k leaves tripped once it is in the kills (the deferred calls run
// in reverse).
func (s *Switch) record(k Kill, cause error) error {
	defer s.untrip(k)
	s.flip.Lock()
	defer s.flip.Unlock()
	st := s.opts.Store
	if st == nil {
		s.applyKill(k, cause, false)
		return nil
	}
	if s.pending == nil {
		s.pending = map[string]pendingKill{}
	}
	_, killed := (*s.active.Load())[k.Target]
	old, wasPending := s.pending[k.Target]
	s.pending[k.Target] = pendingKill{Kill: k, overSaved: killed && (!wasPending || old.overSaved)}
	s.applyKill(k, cause, false)
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if _, err := st.Put(ctx, store.KillRecord{Target: k.Target, Actor: k.Actor, Reason: k.Reason, At: k.At}); err != nil {
		return fmt.Errorf("kill switch: %w (in force on this instance; it is saved when the store answers)", err)
	}
	delete(s.pending, k.Target)
	return nil
}

// trip puts k in tripped.
func (s *Switch) trip(k Kill) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	next := map[string]Kill{}
	if m := s.tripped.Load(); m != nil {
		maps.Copy(next, *m)
	}
	next[k.Target] = k
	s.tripped.Store(&next)
}

// untrip takes k out of tripped, unless a later trip of its target
// replaced it.
func (s *Switch) untrip(k Kill) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	m := s.tripped.Load()
	if m == nil || (*m)[k.Target] != k {
		return
	}
	next := maps.Clone(*m)
	delete(next, k.Target)
	s.tripped.Store(&next)
}

// savePendingLocked writes the kills the store could not save before.
// Called with flip held.
func (s *Switch) savePendingLocked(ctx context.Context) error {
	for t, k := range s.pending {
		if _, err := s.opts.Store.Put(ctx, store.KillRecord{Target: k.Target, Actor: k.Actor, Reason: k.Reason, At: k.At}); err != nil {
			return err
		}
		delete(s.pending, t)
	}
	return nil
}

// applyKill puts k in force and cancels the calls it cuts. Called with
// flip held.
func (s *Switch) applyKill(k Kill, cause error, remote bool) {
	next := s.copyActive()
	next[k.Target] = k
	s.active.Store(&next)
	s.cancel(k.Target, cause)
	s.notify(Event{Kill: k, Action: "kill", Remote: remote})
}

// applyRevive lifts the kill of target. Called with flip held.
func (s *Switch) applyRevive(target, actor string, at time.Time, remote bool) {
	next := s.copyActive()
	delete(next, target)
	s.active.Store(&next)
	s.notify(Event{Kill: Kill{Target: target, Actor: actor, At: at}, Action: "revive", Remote: remote})
}

// Revive lifts the kill of target, in the store first.
func (s *Switch) Revive(target, actor string) error {
	s.flip.Lock()
	defer s.flip.Unlock()
	if p, ok := s.pending[target]; ok && !p.overSaved {
		// Never saved: lifting it here is the whole revival.
		delete(s.pending, target)
		s.applyRevive(target, actor, s.now().UTC(), false)
		return nil
	}
	_, local := (*s.active.Load())[target]
	at := s.now().UTC()
	if st := s.opts.Store; st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		_, err := st.Delete(ctx, target, actor, at)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Another instance revived it and the poll has not applied
			// that yet: lift it here too.
			if !local {
				return ErrUnknownTarget
			}
		case err != nil:
			return fmt.Errorf("kill switch: %w", err)
		}
		delete(s.pending, target)
	} else if !local {
		return ErrUnknownTarget
	}
	if local {
		s.applyRevive(target, actor, at, false)
	}
	return nil
}

// Run applies the flips made by other instances until ctx ends: every poll
// interval it asks the store for the flips it has not seen, in one query.
// When the store fails, the last known kills stay in force and the poll is
// retried; the failure is logged at most every 30 s.
func (s *Switch) Run(ctx context.Context) {
	if s.opts.Store == nil {
		return
	}
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Poll(ctx)
		}
	}
}

// Poll applies the flips made since the last poll and reports whether the
// store answered. Run calls it; tests may call it directly.
func (s *Switch) Poll(ctx context.Context) bool {
	if s.opts.Store == nil {
		return true
	}
	s.flip.Lock()
	defer s.flip.Unlock()
	qctx, cancel := context.WithTimeout(ctx, max(4*s.opts.PollInterval, time.Second))
	defer cancel()
	err := s.savePendingLocked(qctx)
	if err == nil {
		err = s.pollLocked(qctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		s.pollErrs++
		if now := s.now(); now.Sub(s.lastLog) >= errorLogEvery {
			s.opts.Log.LogAttrs(ctx, slog.LevelWarn,
				"kill switch: the store cannot be read; the last known kills stay in force",
				slog.Int("failed_polls", s.pollErrs), slog.Any("error", err))
			s.lastLog, s.pollErrs = now, 0
		}
		return false
	}
	if s.pollErrs > 0 || !s.lastLog.IsZero() {
		s.opts.Log.LogAttrs(ctx, slog.LevelInfo, "kill switch: the store can be read again")
		s.lastLog, s.pollErrs = time.Time{}, 0
	}
	return true
}

// pollLocked reads the new flips and applies the resulting state of each
// target they touch. Called with flip held.
func (s *Switch) pollLocked(ctx context.Context) error {
	st := s.opts.Store
	changes, err := st.ChangedSince(ctx, s.seq)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	if changes[0].Seq != s.seq+1 {
		// The log was pruned past our position: read the whole state.
		return s.resyncLocked(ctx)
	}
	// The last flip of each target decides its state: a kill and its
	// revival between two polls cancel out.
	last := map[string]store.KillChange{}
	var order []string
	for _, c := range changes {
		if _, seen := last[c.Target]; !seen {
			order = append(order, c.Target)
		}
		last[c.Target] = c
	}
	cur := *s.active.Load()
	for _, t := range order {
		c := last[t]
		k, killed := cur[t]
		switch c.Action {
		case store.KillActionKill:
			if nk := fromRecord(c.KillRecord); !killed || !k.same(nk) {
				s.applyKill(nk, s.opts.Cause, true)
			}
		case store.KillActionRevive:
			if killed {
				s.applyRevive(t, c.Actor, c.At.UTC(), true)
			}
		}
	}
	s.seq = changes[len(changes)-1].Seq
	return nil
}

// resyncLocked replaces the kills with the store's list. Called with flip
// held.
func (s *Switch) resyncLocked(ctx context.Context) error {
	list, seq, err := s.opts.Store.List(ctx)
	if err != nil {
		return err
	}
	want := make(map[string]Kill, len(list))
	for _, r := range list {
		want[r.Target] = fromRecord(r)
	}
	cur := *s.active.Load()
	for t := range cur {
		if _, ok := want[t]; !ok {
			s.applyRevive(t, "store", s.now().UTC(), true)
		}
	}
	for t, k := range want {
		if old, ok := cur[t]; !ok || !old.same(k) {
			s.applyKill(k, s.opts.Cause, true)
		}
	}
	s.seq = seq
	return nil
}

// Active lists the kills, those of the configuration included, by target.
func (s *Switch) Active() []Kill {
	m := *s.active.Load()
	out := make([]Kill, 0, len(m))
	for _, k := range m {
		out = append(out, k)
	}
	seen := func(t string) bool {
		for _, k := range out {
			if k.Target == t {
				return true
			}
		}
		return false
	}
	// Kills put in force at once whose recording waits for the lock, and
	// those of the configuration.
	for _, more := range [...]*map[string]Kill{s.tripped.Load(), s.static.Load()} {
		if more == nil {
			continue
		}
		for t, k := range *more {
			if !seen(t) {
				out = append(out, k)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out
}

// Register tracks a request in flight so that a kill of one of its targets
// cancels it; the returned function unregisters it.
func (s *Switch) Register(upstream, model, route string, cancel context.CancelCauseFunc) func() {
	r := &registration{targets: [3]string{upstream, model, route}, cancel: cancel}
	s.mu.Lock()
	s.streams[r] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.streams, r)
		s.mu.Unlock()
	}
}

func (s *Switch) copyActive() map[string]Kill {
	cur := *s.active.Load()
	next := make(map[string]Kill, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	return next
}
