package store

import (
	"testing"
	"time"
)

// What the kill switch's poll relies on, beyond the conformance tests of
// conformance_test.go: asking from the last flip finds nothing, and a
// revival on one instance is read on another with its actor and time.
func TestKillsChangedSinceForThePoll(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		a, b, ctx := db.st.Kills(), db.reopen(t).Kills(), t.Context()
		at := time.Unix(1700000000, 7)
		s1, err := a.Put(ctx, KillRecord{Target: "m", Actor: "alice", Reason: "why", At: at})
		if err != nil {
			t.Fatal(err)
		}
		for _, since := range []int64{s1, s1 + 100} {
			if cs, err := b.ChangedSince(ctx, since); err != nil || len(cs) != 0 {
				t.Errorf("ChangedSince(%d) = %v, %v; want nothing", since, cs, err)
			}
		}
		s2, err := a.Delete(ctx, "m", "bob", at.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		cs, err := b.ChangedSince(ctx, s1)
		if err != nil || len(cs) != 1 {
			t.Fatalf("ChangedSince(%d) = %v, %v; want the revival", s1, cs, err)
		}
		if c := cs[0]; c.Seq != s2 || c.Action != KillActionRevive || c.Target != "m" || c.Actor != "bob" ||
			c.Reason != "" || !c.At.Equal(at.Add(time.Minute)) {
			t.Errorf("revival read on another instance: %+v", c)
		}
	})
}
