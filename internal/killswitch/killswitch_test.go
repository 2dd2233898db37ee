package killswitch

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/store"
)

var errKilled = errors.New("killed")

func TestKillReviveAndPrecedence(t *testing.T) {
	t.Parallel()
	st, _ := tempStore(t)
	ev := newEvents()
	s, err := Open(t.Context(), Options{Store: st.Kills(), OnFlip: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	if _, killed := s.Killed("up", "model", "route"); killed {
		t.Fatal("killed before any kill")
	}
	tests := []struct {
		desc, target           string
		upstream, model, route string
		want                   bool
	}{
		{"upstream", "up", "up", "m", "r", true},
		{"other upstream", "up", "other", "m", "r", false},
		{"model", "deepseek-reasoner", "x", "deepseek-reasoner", "r", true},
		{"route", "chat", "x", "m", "chat", true},
		{"global", Global, "x", "y", "z", true},
	}
	for _, tt := range tests {
		if err := s.Kill(tt.target, "alice", "test", errKilled); err != nil {
			t.Fatal(err)
		}
		if _, got := s.Killed(tt.upstream, tt.model, tt.route); got != tt.want {
			t.Errorf("%s: Killed = %v, want %v", tt.desc, got, tt.want)
		}
		if e := ev.next(t); e.Action != "kill" || e.Actor != "alice" || e.Target != tt.target || e.Remote {
			t.Errorf("%s: kill event %+v", tt.desc, e)
		}
		if err := s.Revive(tt.target, "bob"); err != nil {
			t.Fatal(err)
		}
		if _, got := s.Killed(tt.upstream, tt.model, tt.route); got {
			t.Errorf("%s: still killed after revive", tt.desc)
		}
		if e := ev.next(t); e.Action != "revive" || e.Actor != "bob" || e.Target != tt.target {
			t.Errorf("%s: revive event %+v", tt.desc, e)
		}
	}
	if err := s.Revive("nothing", "bob"); !errors.Is(err, ErrUnknownTarget) {
		t.Fatalf("revive of an unknown target: %v", err)
	}
	// Its own flips, read back from the store, are not applied twice.
	if !s.Poll(t.Context()) {
		t.Fatal("poll failed")
	}
	ev.none(t)
}

func TestKillSurvivesRestart(t *testing.T) {
	t.Parallel()
	st, path := tempStore(t)
	s, err := Open(t.Context(), Options{Store: st.Kills()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Kill("r1-sim", "alice", "incident 42", errKilled); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	again, err := Open(t.Context(), Options{Store: openStore(t, path).Kills()})
	if err != nil {
		t.Fatal(err)
	}
	k, killed := again.Killed("r1-sim", "", "")
	if !killed || k.Actor != "alice" || k.Reason != "incident 42" {
		t.Fatalf("after reopening: %+v %v", k, killed)
	}
}

func TestKillCancelsMatchingCallsOnly(t *testing.T) {
	t.Parallel()
	s, _ := Open(t.Context(), Options{})
	ctxA, cancelA := context.WithCancelCause(context.Background())
	ctxB, cancelB := context.WithCancelCause(context.Background())
	defer s.Register("up-a", "m", "r", cancelA)()
	unregB := s.Register("up-b", "m", "r", cancelB)
	if err := s.Kill("up-a", "alice", "", errKilled); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(context.Cause(ctxA), errKilled) {
		t.Fatalf("the call on the killed upstream was not cancelled: %v", context.Cause(ctxA))
	}
	if ctxB.Err() != nil {
		t.Fatal("a call on another upstream was cancelled")
	}
	unregB()
	if err := s.Kill(Global, "alice", "", errKilled); err != nil {
		t.Fatal(err)
	}
	if ctxB.Err() != nil {
		t.Fatal("an unregistered call was cancelled")
	}
}

// The JSON file of an older version is imported once: its kills go to the
// store and the file is renamed.
func TestImportOldFile(t *testing.T) {
	t.Parallel()
	st, path := tempStore(t)
	file := filepath.Join(t.TempDir(), "killswitch.json")
	if err := writeFile(file, `[{"target":"r1-sim","actor":"alice","reason":"incident 7","at":"2026-01-02T03:04:05Z"},
		{"target":"*","actor":"bob","at":"2026-01-02T03:04:06Z"}]`); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), Options{Store: st.Kills(), ImportFile: file})
	if err != nil {
		t.Fatal(err)
	}
	k, killed := s.Killed("r1-sim", "", "")
	if !killed || k.Target != Global {
		t.Fatalf("imported global kill: %+v %v", k, killed)
	}
	if got := len(s.Active()); got != 2 {
		t.Fatalf("%d kills imported, want 2: %+v", got, s.Active())
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old file is still there: %v", err)
	}
	if _, err := os.Stat(file + ".imported"); err != nil {
		t.Errorf("the old file was not renamed: %v", err)
	}
	// The kills are in the store, with their actor, reason and time.
	list, _, err := openStore(t, path).Kills().List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if len(list) != 2 || list[1].Target != "r1-sim" || list[1].Actor != "alice" || list[1].Reason != "incident 7" || !list[1].At.Equal(want) {
		t.Fatalf("stored kills: %+v", list)
	}
	// A revival is not undone by a second start: the file is gone.
	if err := s.Revive(Global, "carol"); err != nil {
		t.Fatal(err)
	}
	again, err := Open(t.Context(), Options{Store: st.Kills(), ImportFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if _, killed := again.Killed("other", "", ""); killed {
		t.Fatal("the global kill came back after a restart")
	}
}

func TestOpenRejectsCorruptImportFile(t *testing.T) {
	t.Parallel()
	st, _ := tempStore(t)
	file := filepath.Join(t.TempDir(), "killswitch.json")
	if err := writeFile(file, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), Options{Store: st.Kills(), ImportFile: file}); err == nil {
		t.Fatal("a corrupt state file was accepted: the gateway must not start with kills forgotten")
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the corrupt file was moved away: %v", err)
	}
}

func TestOpenFailsWhenTheStoreCannotBeRead(t *testing.T) {
	t.Parallel()
	st, _ := tempStore(t)
	f := &flakyStore{KillStore: st.Kills()}
	f.down.Store(true)
	if _, err := Open(t.Context(), Options{Store: f}); !errors.Is(err, errDown) {
		t.Fatalf("Open with the store down: %v", err)
	}
}

// twoInstances opens two switches on the same SQLite file through two
// handles, as two gateways sharing a data folder do.
func twoInstances(t *testing.T, wrapB func(store.KillStore) store.KillStore) (a, b *Switch, evB *events) {
	t.Helper()
	stA, path := tempStore(t)
	stB := openStore(t, path)
	var err error
	if a, err = Open(t.Context(), Options{Store: stA.Kills()}); err != nil {
		t.Fatal(err)
	}
	evB = newEvents()
	if b, err = Open(t.Context(), Options{Store: wrapB(stB.Kills()), OnFlip: evB.add, Cause: errKilled,
		Log: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	return a, b, evB
}

func TestPollAppliesRemoteKillAndRevival(t *testing.T) {
	t.Parallel()
	a, b, evB := twoInstances(t, func(k store.KillStore) store.KillStore { return k })
	ctx, cancel := context.WithCancelCause(context.Background())
	defer b.Register("r1-sim", "m", "r", cancel)()
	if err := a.Kill("r1-sim", "alice", "incident 7", errors.New("local cause")); err != nil {
		t.Fatal(err)
	}
	if _, killed := b.Killed("r1-sim", "", ""); killed {
		t.Fatal("killed on B before B polled")
	}
	if !b.Poll(t.Context()) {
		t.Fatal("poll failed")
	}
	k, killed := b.Killed("r1-sim", "", "")
	if !killed || k.Actor != "alice" || k.Reason != "incident 7" {
		t.Fatalf("after the poll: %+v %v", k, killed)
	}
	if !errors.Is(context.Cause(ctx), errKilled) {
		t.Fatalf("the call in flight on B was not cancelled with the kill cause: %v", context.Cause(ctx))
	}
	if e := evB.next(t); e.Action != "kill" || e.Actor != "alice" || e.Reason != "incident 7" || !e.Remote {
		t.Fatalf("B's record of the kill: %+v", e)
	}
	// Nothing new: nothing applied.
	b.Poll(t.Context())
	evB.none(t)
	if err := a.Revive("r1-sim", "bob"); err != nil {
		t.Fatal(err)
	}
	b.Poll(t.Context())
	if _, killed := b.Killed("r1-sim", "", ""); killed {
		t.Fatal("still killed on B after the revival was polled")
	}
	if e := evB.next(t); e.Action != "revive" || e.Actor != "bob" || !e.Remote {
		t.Fatalf("B's record of the revival: %+v", e)
	}
	// A kill and its revival between two polls leave nothing behind.
	_ = a.Kill("m", "alice", "", errKilled)
	_ = a.Revive("m", "bob")
	b.Poll(t.Context())
	evB.none(t)
	if _, killed := b.Killed("", "m", ""); killed {
		t.Fatal("a revived kill is in force on B")
	}
}

// B revives a target A killed before B polled: the store has it, so the
// revival succeeds and reaches A.
func TestReviveOfAKillNotPolledYet(t *testing.T) {
	t.Parallel()
	a, b, _ := twoInstances(t, func(k store.KillStore) store.KillStore { return k })
	if err := a.Kill("u", "alice", "", errKilled); err != nil {
		t.Fatal(err)
	}
	if err := b.Revive("u", "bob"); err != nil {
		t.Fatalf("revive on B: %v", err)
	}
	a.Poll(t.Context())
	if _, killed := a.Killed("u", "", ""); killed {
		t.Fatal("A still applies the kill B revived")
	}
}

// While the store cannot be read, the last known kills stay in force; a
// kill that cannot be written is refused and changes nothing.
func TestStoreDownKeepsKills(t *testing.T) {
	t.Parallel()
	var flaky *flakyStore
	a, b, evB := twoInstances(t, func(k store.KillStore) store.KillStore {
		flaky = &flakyStore{KillStore: k}
		return flaky
	})
	if err := a.Kill("u", "alice", "", errKilled); err != nil {
		t.Fatal(err)
	}
	b.Poll(t.Context())
	evB.next(t)
	flaky.down.Store(true)
	if err := a.Revive("u", "bob"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if b.Poll(t.Context()) {
			t.Fatal("a poll of a store that is down succeeded")
		}
	}
	if _, killed := b.Killed("u", "", ""); !killed {
		t.Fatal("a kill was dropped because the store could not be read")
	}
	// A kill fails closed: in force at once, the store's error returned.
	if err := b.Kill("v", "carol", "", errKilled); !errors.Is(err, errDown) {
		t.Fatalf("a kill that could not be stored: %v", err)
	}
	if _, killed := b.Killed("v", "", ""); !killed {
		t.Fatal("a kill the store could not save is not in force")
	}
	if e := evB.next(t); e.Action != "kill" || e.Target != "v" || e.Remote {
		t.Fatalf("kill record: %+v", e)
	}
	// A revival does not: the kill stays.
	if err := b.Revive("u", "carol"); !errors.Is(err, errDown) {
		t.Fatalf("a revival that could not be stored: %v", err)
	}
	evB.none(t)
	flaky.down.Store(false)
	if !b.Poll(t.Context()) {
		t.Fatal("poll failed after the store came back")
	}
	if _, killed := b.Killed("u", "", ""); killed {
		t.Fatal("the revival made while the store was unreachable was not applied")
	}
	if e := evB.next(t); e.Action != "revive" || e.Actor != "bob" {
		t.Fatalf("revival record: %+v", e)
	}
	// The poll saved the pending kill, so it reaches the other instance.
	a.Poll(t.Context())
	if _, killed := a.Killed("v", "", ""); !killed {
		t.Fatal("the kill made while the store was down did not reach the other instance")
	}
}

// Poll errors are logged once per interval, not once per poll.
func TestPollErrorsAreRateLimited(t *testing.T) {
	t.Parallel()
	st, _ := tempStore(t)
	f := &flakyStore{KillStore: st.Kills()}
	var buf syncBuffer
	s, err := Open(t.Context(), Options{Store: f, Log: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.down.Store(true)
	for range 20 {
		s.Poll(t.Context())
	}
	if n := strings.Count(buf.String(), "cannot be read"); n != 1 {
		t.Fatalf("%d error lines for 20 failed polls, want 1:\n%s", n, buf.String())
	}
	f.down.Store(false)
	s.Poll(t.Context())
	if !strings.Contains(buf.String(), "can be read again") {
		t.Fatalf("the recovery was not logged:\n%s", buf.String())
	}
}

// A gap in the flip log (pruned) makes the poll read the whole state.
func TestPollResyncsAfterAGap(t *testing.T) {
	t.Parallel()
	a, b, evB := twoInstances(t, func(k store.KillStore) store.KillStore { return prunedStore{k} })
	_ = a.Kill("x", "alice", "", errKilled)
	_ = a.Kill("y", "alice", "", errKilled)
	b.Poll(t.Context())
	for _, tgt := range []string{"x", "y"} {
		if _, killed := b.Killed(tgt, "", ""); !killed {
			t.Errorf("%s not killed after the resync", tgt)
		}
	}
	evB.next(t)
	evB.next(t)
}

// Run applies a remote kill within the poll interval.
func TestRunPolls(t *testing.T) {
	t.Parallel()
	stA, path := tempStore(t)
	a, _ := Open(t.Context(), Options{Store: stA.Kills()})
	b, err := Open(t.Context(), Options{Store: openStore(t, path).Kills(), PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	t0 := time.Now()
	_ = a.Kill(Global, "alice", "", errKilled)
	for {
		if _, killed := b.Killed("u", "", ""); killed {
			break
		}
		if time.Since(t0) > 5*time.Second {
			t.Fatal("the remote kill was not applied within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("remote kill applied after %v", time.Since(t0))
}

func BenchmarkKilledNoKills(b *testing.B) {
	s, _ := Open(context.Background(), Options{})
	b.ReportAllocs()
	for b.Loop() {
		s.Killed("up", "model", "route")
	}
}

// BenchmarkPollNoChange is the cost of one poll that finds nothing new.
func BenchmarkPollNoChange(b *testing.B) {
	st, _ := tempStore(b)
	s, _ := Open(context.Background(), Options{Store: st.Kills()})
	_ = s.Kill("x", "a", "", errKilled)
	b.ReportAllocs()
	for b.Loop() {
		s.Poll(context.Background())
	}
}

func TestStaticKills(t *testing.T) {
	t.Parallel()
	s, _ := Open(t.Context(), Options{})
	ctx, cancel := context.WithCancelCause(context.Background())
	defer s.Register("up", "m", "r", cancel)()
	s.SetStatic([]string{"up"}, errKilled)
	if k, killed := s.Killed("up", "m", "r"); !killed || k.Actor != "config" {
		t.Fatalf("a configured kill: %+v %v", k, killed)
	}
	if !errors.Is(context.Cause(ctx), errKilled) {
		t.Fatal("a configured kill did not cancel the call in flight")
	}
	if err := s.Revive("up", "bob"); !errors.Is(err, ErrUnknownTarget) {
		t.Fatalf("revive lifted a configured kill: %v", err)
	}
	if len(s.Active()) != 1 {
		t.Fatalf("Active() = %+v", s.Active())
	}
	s.SetStatic(nil, errKilled)
	if _, killed := s.Killed("up", "m", "r"); killed {
		t.Fatal("removing the kill from the configuration did not lift it")
	}
}

// syncBuffer is a strings.Builder safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestKillFailsClosed: a kill that the store cannot save is in
// force here at once (calls on the target cancelled), saved by the first
// poll once the store answers, and then reaches the other instance; a
// revival before it was saved lifts it here and saves nothing.
func TestKillFailsClosed(t *testing.T) {
	t.Parallel()
	var flaky *flakyStore
	b, a, evA := twoInstances(t, func(k store.KillStore) store.KillStore {
		flaky = &flakyStore{KillStore: k}
		return flaky
	})
	flaky.down.Store(true)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer a.Register("u", "m", "r", cancel)()
	err := a.Kill("u", "trigger:jb", "10 blocks", errKilled)
	if !errors.Is(err, errDown) {
		t.Fatalf("Kill with the store down: %v, want the store's error", err)
	}
	if _, killed := a.Killed("u", "", ""); !killed {
		t.Fatal("a kill is not in force while the store is down")
	}
	if !errors.Is(context.Cause(ctx), errKilled) {
		t.Fatalf("the call on the target was not cancelled: %v", context.Cause(ctx))
	}
	if e := evA.next(t); e.Action != "kill" || e.Actor != "trigger:jb" {
		t.Fatalf("event %+v", e)
	}
	if a.Poll(t.Context()) {
		t.Fatal("a poll succeeded with the store down")
	}
	b.Poll(t.Context())
	if _, killed := b.Killed("u", "", ""); killed {
		t.Fatal("the other instance sees a kill that was never saved")
	}
	flaky.down.Store(false)
	if !a.Poll(t.Context()) {
		t.Fatal("poll failed once the store answered")
	}
	b.Poll(t.Context())
	if k, killed := b.Killed("u", "", ""); !killed || k.Actor != "trigger:jb" {
		t.Fatalf("the saved kill did not reach the other instance: %+v %v", k, killed)
	}
	evA.none(t) // saving it is not a second flip here

	// Pending, then revived before it was saved: nothing reaches the store.
	flaky.down.Store(true)
	_ = a.Kill("w", "trigger:jb", "", errKilled)
	evA.next(t)
	if err := a.Revive("w", "alice"); err != nil {
		t.Fatalf("revive of an unsaved kill: %v", err)
	}
	if _, killed := a.Killed("w", "", ""); killed {
		t.Fatal("the unsaved kill was not lifted")
	}
	flaky.down.Store(false)
	a.Poll(t.Context())
	b.Poll(t.Context())
	if _, killed := b.Killed("w", "", ""); killed {
		t.Fatal("a revived, never saved kill reached the store")
	}
}

// hangingStore is a KillStore whose Put waits until released, as a store
// behind a network partition does until the write times out.
type hangingStore struct {
	store.KillStore
	entered chan struct{}
	release chan error
}

func (h *hangingStore) Put(ctx context.Context, k store.KillRecord) (int64, error) {
	h.entered <- struct{}{}
	select {
	case err := <-h.release:
		if err != nil {
			return 0, err
		}
		return h.KillStore.Put(ctx, k)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// TestKillWhileTheStoreHangs: a kill is in force, and
// the calls on its target cancelled, while the store write is still
// waiting, not only once the write has failed; it stays in force and is
// saved later when the write fails, and is not pending when it succeeds.
func TestKillWhileTheStoreHangs(t *testing.T) {
	t.Parallel()
	st, _ := tempStore(t)
	h := &hangingStore{KillStore: st.Kills(), entered: make(chan struct{}), release: make(chan error)}
	s, err := Open(t.Context(), Options{Store: h, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		target string
		write  error
	}{{"u", errDown}, {"v", nil}} {
		ctx, cancel := context.WithCancelCause(context.Background())
		unregister := s.Register(c.target, "m", "r", cancel)
		done := make(chan error, 1)
		go func() { done <- s.Kill(c.target, "trigger:jb", "", errKilled) }()
		<-h.entered
		if _, killed := s.Killed(c.target, "", ""); !killed {
			t.Errorf("%s: the kill is not in force while the store write waits", c.target)
		}
		if !errors.Is(context.Cause(ctx), errKilled) {
			t.Errorf("%s: the call on the target was not cancelled while the store write waits", c.target)
		}
		h.release <- c.write
		if err := <-done; !errors.Is(err, c.write) || (c.write == nil) != (err == nil) {
			t.Fatalf("%s: Kill: %v, want %v", c.target, err, c.write)
		}
		unregister()
		if _, killed := s.Killed(c.target, "", ""); !killed {
			t.Errorf("%s: the kill is not in force after the write", c.target)
		}
		s.flip.Lock()
		_, pending := s.pending[c.target]
		s.flip.Unlock()
		if pending != (c.write != nil) {
			t.Errorf("%s: pending = %v after a write that returned %v", c.target, pending, c.write)
		}
	}
}

// TestReviveOfAPendingKillOverASavedOne: a trigger fires, while the store
// is down, on a target an admin had killed (saved). Reviving it then cannot
// be done here alone: the saved kill would stay in the store, in force on
// the other instances and after a restart. The revival fails until the
// store answers, and then lifts the kill everywhere.
func TestReviveOfAPendingKillOverASavedOne(t *testing.T) {
	t.Parallel()
	var flaky *flakyStore
	b, a, _ := twoInstances(t, func(k store.KillStore) store.KillStore {
		flaky = &flakyStore{KillStore: k}
		return flaky
	})
	if err := a.Kill("u", "alice", "incident", errKilled); err != nil {
		t.Fatal(err)
	}
	flaky.down.Store(true)
	_ = a.Kill("u", "trigger:jb", "10 blocks", errKilled)
	if err := a.Revive("u", "bob"); err == nil {
		t.Fatal("a revival the store could not record succeeded")
	}
	if _, killed := a.Killed("u", "", ""); !killed {
		t.Fatal("the kill was lifted here while the store keeps it")
	}
	flaky.down.Store(false)
	if err := a.Revive("u", "bob"); err != nil {
		t.Fatalf("revive once the store answers: %v", err)
	}
	a.Poll(t.Context())
	b.Poll(t.Context())
	for name, s := range map[string]*Switch{"here": a, "the other instance": b} {
		if k, killed := s.Killed("u", "", ""); killed {
			t.Errorf("%s: still killed after the revival: %+v", name, k)
		}
	}
}

// hangingPoll is a KillStore whose ChangedSince blocks until released, as a store that hangs.
type hangingPoll struct {
	store.KillStore
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *hangingPoll) ChangedSince(ctx context.Context, seq int64) ([]store.KillChange, error) {
	h.once.Do(func() { close(h.entered) })
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.KillStore.ChangedSince(ctx, seq)
}

// TestTriggerKillWhileAPollHangs: a poll that waits on a store that hangs
// holds the switch's lock, and a trigger's kill is in force at once all
// the same, calls on its target cancelled, not a second later.
func TestTriggerKillWhileAPollHangs(t *testing.T) {
	t.Parallel()
	st, _ := tempStore(t)
	h := &hangingPoll{KillStore: st.Kills(), entered: make(chan struct{}), release: make(chan struct{})}
	s, err := Open(t.Context(), Options{Store: h, Cause: errKilled, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer s.Register("u", "m", "r", cancel)()
	polled := make(chan struct{})
	go func() { s.Poll(context.Background()); close(polled) }()
	<-h.entered
	killed := make(chan error, 1)
	start := time.Now()
	go func() { killed <- s.Kill("u", "trigger:t", "burst", errKilled) }()
	for {
		if _, ok := s.Killed("u", "", ""); ok {
			break
		}
		if time.Since(start) > 200*time.Millisecond {
			t.Fatal("the trigger's kill waited for the poll of a hanging store")
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(context.Cause(ctx), errKilled) {
		t.Fatalf("the call on the target was not cancelled: %v", context.Cause(ctx))
	}
	close(h.release)
	<-polled
	if err := <-killed; err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if k, ok := s.Killed("u", "", ""); !ok || k.Actor != "trigger:t" {
		t.Fatalf("after the poll: %+v %v", k, ok)
	}
	if m := s.tripped.Load(); m == nil || len(*m) != 0 {
		t.Fatalf("tripped kills left behind: %v", m)
	}
}

// hangingPut is a KillStore whose Put waits for release.
type hangingPut struct {
	store.KillStore
	release chan struct{}
}

func (h *hangingPut) Put(ctx context.Context, k store.KillRecord) (int64, error) {
	select {
	case <-h.release:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return h.KillStore.Put(ctx, k)
}

// TestKillWithin: with a store whose write hangs, KillWithin returns
// ErrNotSavedYet after its wait, with the kill in force and listed, and the
// write, once the store answers, saves it.
func TestKillWithin(t *testing.T) {
	t.Parallel()
	st, _ := tempStore(t)
	h := &hangingPut{KillStore: st.Kills(), release: make(chan struct{})}
	s, err := Open(t.Context(), Options{Store: h, Cause: errKilled, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.KillWithin(50*time.Millisecond, "u", "alice", "drill", errKilled); !errors.Is(err, ErrNotSavedYet) {
		t.Fatalf("KillWithin with a hanging store: %v, want ErrNotSavedYet", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("KillWithin took %v", took)
	}
	if _, ok := s.Killed("u", "", ""); !ok {
		t.Fatal("the kill is not in force")
	}
	if a := s.Active(); len(a) != 1 || a[0].Target != "u" {
		t.Fatalf("Active() = %+v", a)
	}
	close(h.release)
	waitUntil(t, func() bool {
		recs, _, err := st.Kills().List(t.Context())
		return err == nil && len(recs) == 1 && recs[0].Target == "u"
	})
	// With a store that answers, it waits for the write.
	if err := s.KillWithin(5*time.Second, "v", "alice", "", errKilled); err != nil {
		t.Fatalf("KillWithin: %v", err)
	}
}

// TestActiveListsKillsInForceBeforeTheirRecording: a kill made while a
// poll holds the lock is in force at once, and listed by Active too.
func TestActiveListsKillsInForceBeforeTheirRecording(t *testing.T) {
	t.Parallel()
	st, _ := tempStore(t)
	h := &hangingPoll{KillStore: st.Kills(), entered: make(chan struct{}), release: make(chan struct{})}
	s, err := Open(t.Context(), Options{Store: h, Cause: errKilled, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	polled := make(chan struct{})
	go func() { s.Poll(context.Background()); close(polled) }()
	<-h.entered
	err = s.KillWithin(20*time.Millisecond, "u", "alice", "", errKilled)
	if !errors.Is(err, ErrNotSavedYet) {
		t.Fatalf("KillWithin while a poll holds the lock: %v", err)
	}
	if a := s.Active(); len(a) != 1 || a[0].Target != "u" || a[0].Actor != "alice" {
		t.Fatalf("Active() = %+v, want the kill in force", a)
	}
	close(h.release)
	<-polled
}
