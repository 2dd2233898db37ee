// Package killswitch cuts traffic to an upstream, a model, a route or
// everything at once. A kill takes effect for new requests immediately,
// ends the streams in flight on the killed target, and is persisted so that
// a restart keeps it. Every flip is recorded with its actor and reason.
package killswitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Global is the target that cuts every upstream.
const Global = "*"

// Kill is one active kill.
type Kill struct {
	Target string    `json:"target"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Event is one flip, for the log and the audit trail.
type Event struct {
	Kill
	Action string `json:"action"` // kill or revive
}

// Switch holds the active kills. It is safe for concurrent use; Killed is
// lock-free, because every request asks it.
type Switch struct {
	path string
	now  func() time.Time

	active atomic.Pointer[map[string]Kill]
	static atomic.Pointer[map[string]Kill] // kills declared in the configuration

	mu      sync.Mutex
	streams map[*registration]struct{}
	onFlip  func(Event)
}

// registration is one request in flight and what it uses.
type registration struct {
	targets [3]string // upstream, model, route
	cancel  context.CancelCauseFunc
}

// ErrUnknownTarget is returned by Revive for a target that is not killed.
var ErrUnknownTarget = errors.New("target is not killed")

// Open loads the kills persisted at path (a JSON file; created on the first
// kill). onFlip, when set, is called after every flip.
func Open(path string, onFlip func(Event)) (*Switch, error) {
	s := &Switch{path: path, now: time.Now, streams: map[*registration]struct{}{}, onFlip: onFlip}
	m := map[string]Kill{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("kill switch state: %w", err)
	default:
		var list []Kill
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("kill switch state %s: %w", path, err)
		}
		for _, k := range list {
			m[k.Target] = k
		}
	}
	s.active.Store(&m)
	return s, nil
}

// Killed returns the kill that cuts a request to upstream for model on
// route, if any: the global kill first, then the upstream, the model, the
// route.
func (s *Switch) Killed(upstream, model, route string) (Kill, bool) {
	for _, m := range [...]*map[string]Kill{s.active.Load(), s.static.Load()} {
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
// persisted (the file is their record) and Revive does not lift them;
// calls in flight on a newly listed target are cancelled with cause.
func (s *Switch) SetStatic(targets []string, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
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
		s.cancelLocked(t, cause)
		if s.onFlip != nil {
			s.onFlip(Event{Kill: m[t], Action: "kill"})
		}
	}
	s.static.Store(&m)
}

// cancelLocked cancels the registered calls that target cuts.
func (s *Switch) cancelLocked(target string, cause error) {
	for r := range s.streams {
		if target == Global || r.targets[0] == target || r.targets[1] == target || r.targets[2] == target {
			r.cancel(cause)
		}
	}
}

// Kill cuts target: new requests are refused at once and streams in flight
// on it are cancelled with cause.
func (s *Switch) Kill(target, actor, reason string, cause error) error {
	if target == "" {
		return errors.New("kill: empty target")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := Kill{Target: target, Actor: actor, Reason: reason, At: s.now().UTC()}
	next := s.copyLocked()
	next[target] = k
	if err := s.persistLocked(next); err != nil {
		return err
	}
	s.active.Store(&next)
	s.cancelLocked(target, cause)
	if s.onFlip != nil {
		s.onFlip(Event{Kill: k, Action: "kill"})
	}
	return nil
}

// Revive lifts the kill of target.
func (s *Switch) Revive(target, actor string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.copyLocked()
	if _, ok := next[target]; !ok {
		return ErrUnknownTarget
	}
	delete(next, target)
	if err := s.persistLocked(next); err != nil {
		return err
	}
	s.active.Store(&next)
	if s.onFlip != nil {
		s.onFlip(Event{Kill: Kill{Target: target, Actor: actor, At: s.now().UTC()}, Action: "revive"})
	}
	return nil
}

// Active lists the kills, those of the configuration included, by target.
func (s *Switch) Active() []Kill {
	m := *s.active.Load()
	out := make([]Kill, 0, len(m))
	for _, k := range m {
		out = append(out, k)
	}
	if st := s.static.Load(); st != nil {
		for t, k := range *st {
			if _, dup := m[t]; !dup {
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

func (s *Switch) copyLocked() map[string]Kill {
	cur := *s.active.Load()
	next := make(map[string]Kill, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	return next
}

// persistLocked writes the kills atomically: a temporary file, fsync,
// rename, so that a crash leaves the old state or the new one.
func (s *Switch) persistLocked(m map[string]Kill) error {
	if s.path == "" {
		return nil
	}
	list := make([]Kill, 0, len(m))
	for _, k := range m {
		list = append(list, k)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Target < list[j].Target })
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("kill switch state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".killswitch-*")
	if err != nil {
		return fmt.Errorf("kill switch state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("kill switch state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("kill switch state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("kill switch state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("kill switch state: %w", err)
	}
	return nil
}
