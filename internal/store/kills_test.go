package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestKillPutListDelete(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	ctx := t.Context()
	ks := st.Kills()
	if list, seq, err := ks.List(ctx); err != nil || len(list) != 0 || seq != 0 {
		t.Fatalf("empty store: List = %v, %d, %v", list, seq, err)
	}
	at := time.Unix(1700000000, 42)
	s1, err := ks.Put(ctx, KillRecord{Target: "r1-sim", Actor: "alice", Reason: "leaks", At: at})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ks.Put(ctx, KillRecord{Target: "*", Actor: "bob", At: at.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	// A second kill of the same target replaces the first.
	s3, err := ks.Put(ctx, KillRecord{Target: "r1-sim", Actor: "carol", Reason: "still leaks", At: at.Add(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if s1 != 1 || s2 != 2 || s3 != 3 {
		t.Errorf("sequence numbers %d %d %d, want 1 2 3", s1, s2, s3)
	}
	list, seq, err := ks.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []KillRecord{
		{Target: "*", Actor: "bob", At: at.Add(time.Second)},
		{Target: "r1-sim", Actor: "carol", Reason: "still leaks", At: at.Add(2 * time.Second)},
	}
	if fmt.Sprint(list) != fmt.Sprint(want) || seq != 3 {
		t.Errorf("List = %v at %d, want %v at 3", list, seq, want)
	}
	for i := range list {
		if !list[i].At.Equal(want[i].At) {
			t.Errorf("kill %s at %v, want %v", list[i].Target, list[i].At, want[i].At)
		}
	}
	s4, err := ks.Delete(ctx, "r1-sim", "dave", at.Add(3*time.Second))
	if err != nil || s4 != 4 {
		t.Fatalf("Delete = %d, %v; want 4, nil", s4, err)
	}
	if _, err := ks.Delete(ctx, "r1-sim", "dave", at); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	list, seq, err = ks.List(ctx)
	if err != nil || len(list) != 1 || list[0].Target != "*" || seq != 4 {
		t.Errorf("after Delete: List = %v, %d, %v", list, seq, err)
	}
}

func TestKillChangedSince(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	ctx := t.Context()
	ks := st.Kills()
	at := time.Unix(1700000000, 0)
	if _, err := ks.Put(ctx, KillRecord{Target: "m", Actor: "alice", Reason: "why", At: at}); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Delete(ctx, "m", "bob", at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Put(ctx, KillRecord{Target: "u", Actor: "carol", At: at}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		since int64
		want  string
	}{
		{0, "1 kill m alice why|2 revive m bob |3 kill u carol |"},
		{1, "2 revive m bob |3 kill u carol |"},
		{3, ""},
		{99, ""},
	} {
		got, err := ks.ChangedSince(ctx, c.since)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		for _, ch := range got {
			s += fmt.Sprintf("%d %s %s %s %s|", ch.Seq, ch.Action, ch.Target, ch.Actor, ch.Reason)
		}
		if s != c.want {
			t.Errorf("ChangedSince(%d) = %q, want %q", c.since, s, c.want)
		}
	}
	got, _ := ks.ChangedSince(ctx, 1)
	if !got[0].At.Equal(at.Add(time.Minute)) {
		t.Errorf("revival at %v, want %v", got[0].At, at.Add(time.Minute))
	}
}

// Flips from two handles on the same file (two instances) get distinct,
// gapless sequence numbers, and the log replays to the listed state.
func TestKillConcurrentFlipsFromTwoInstances(t *testing.T) {
	t.Parallel()
	a, path := openTemp(t)
	b, err := OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx := t.Context()
	const perInstance = 25
	var wg sync.WaitGroup
	seqs := make(chan int64, 2*perInstance)
	for i, st := range []Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perInstance {
				target := fmt.Sprintf("t%d", j%5)
				seq, err := st.Kills().Put(ctx, KillRecord{Target: target, Actor: fmt.Sprintf("inst%d", i), At: time.Now()})
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- seq
			}
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Errorf("sequence number %d handed out twice", s)
		}
		seen[s] = true
	}
	for s := int64(1); s <= 2*perInstance; s++ {
		if !seen[s] {
			t.Errorf("sequence number %d missing", s)
		}
	}
	changes, err := b.Kills().ChangedSince(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	replayed := map[string]string{}
	for _, c := range changes {
		replayed[c.Target] = c.Actor
	}
	list, _, err := a.Kills().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(replayed) {
		t.Fatalf("listed %d kills, the log replays to %d", len(list), len(replayed))
	}
	for _, k := range list {
		if replayed[k.Target] != k.Actor {
			t.Errorf("kill %s by %s, the log says %s", k.Target, k.Actor, replayed[k.Target])
		}
	}
}

func TestKillLogIsPruned(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	ctx := t.Context()
	db := st.(*sqliteStore).db
	// Jump the counter instead of writing a thousand flips.
	if _, err := db.ExecContext(ctx, `UPDATE kill_version SET version = $1`, killLogKeep+10); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := db.ExecContext(ctx, `INSERT INTO kill_log (seq, action, target, actor, reason, at) VALUES ($1, 'kill', 'x', 'a', '', 0)`, i+1); err != nil {
			t.Fatal(err)
		}
	}
	seq, err := st.Kills().Put(ctx, KillRecord{Target: "x", Actor: "a", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	changes, err := st.Kills().ChangedSince(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Seq != seq {
		t.Errorf("after pruning the log holds %v, want only flip %d", changes, seq)
	}
}

func TestKillPutRejectsEmptyTarget(t *testing.T) {
	t.Parallel()
	st, _ := openTemp(t)
	if _, err := st.Kills().Put(t.Context(), KillRecord{Actor: "a"}); err == nil {
		t.Error("Put with an empty target succeeded")
	}
}
