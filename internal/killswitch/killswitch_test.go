package killswitch

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

var errKilled = errors.New("killed")

func TestKillReviveAndPrecedence(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ks.json")
	var events []Event
	s, err := Open(path, func(e Event) { events = append(events, e) })
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
		if err := s.Revive(tt.target, "bob"); err != nil {
			t.Fatal(err)
		}
		if _, got := s.Killed(tt.upstream, tt.model, tt.route); got {
			t.Errorf("%s: still killed after revive", tt.desc)
		}
	}
	if len(events) != 2*len(tests) || events[0].Actor != "alice" || events[1].Action != "revive" || events[1].Actor != "bob" {
		t.Fatalf("events = %+v", events)
	}
	if err := s.Revive("nothing", "bob"); !errors.Is(err, ErrUnknownTarget) {
		t.Fatalf("revive of an unknown target: %v", err)
	}
}

func TestKillSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "ks.json")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Kill("r1-sim", "alice", "incident 42", errKilled); err != nil {
		t.Fatal(err)
	}
	again, err := Open(path, nil)
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
	s, _ := Open("", nil)
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

func TestOpenRejectsCorruptState(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ks.json")
	s, _ := Open(path, nil)
	_ = s.Kill("x", "a", "", errKilled)
	if err := writeFile(path, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, nil); err == nil {
		t.Fatal("a corrupt state file was accepted: the gateway must not start with kills forgotten")
	}
}

func BenchmarkKilledNoKills(b *testing.B) {
	s, _ := Open("", nil)
	b.ReportAllocs()
	for b.Loop() {
		s.Killed("up", "model", "route")
	}
}

func TestStaticKills(t *testing.T) {
	t.Parallel()
	s, _ := Open("", nil)
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
