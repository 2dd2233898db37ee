package upstream

import (
	"testing"
	"time"
)

func TestBreakerOpensProbesAndCloses(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	b := NewBreaker(3, 10*time.Second)
	b.now = func() time.Time { return now }
	for i := 0; i < 2; i++ {
		b.Failure()
		if ok, _ := b.Allow(); !ok {
			t.Fatalf("open after %d failures, threshold 3", i+1)
		}
	}
	b.Success() // a success resets the run
	for i := 0; i < 3; i++ {
		b.Failure()
	}
	if ok, wait := b.Allow(); ok || wait != 10*time.Second {
		t.Fatalf("after 3 failures: allow=%v wait=%v", ok, wait)
	}
	now = now.Add(10 * time.Second)
	if ok, _ := b.Allow(); !ok {
		t.Fatal("no probe after the cool-down")
	}
	if ok, _ := b.Allow(); ok {
		t.Fatal("a second call went through while the probe is out")
	}
	b.Failure() // the probe failed: open again for a whole cool-down
	if ok, _ := b.Allow(); ok || !b.Open() {
		t.Fatal("a failed probe did not reopen the breaker")
	}
	now = now.Add(10 * time.Second)
	if ok, _ := b.Allow(); !ok {
		t.Fatal("no second probe")
	}
	b.Success()
	if ok, _ := b.Allow(); !ok || b.Open() {
		t.Fatal("a successful probe did not close the breaker")
	}
}

func TestBreakerReleaseAndDisabled(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	b := NewBreaker(1, time.Second)
	b.now = func() time.Time { return now }
	b.Failure()
	now = now.Add(time.Second)
	if ok, _ := b.Allow(); !ok {
		t.Fatal("no probe")
	}
	b.Release() // the client left before the probe had a verdict
	if ok, _ := b.Allow(); !ok {
		t.Fatal("the probe slot was not released")
	}
	off := NewBreaker(0, time.Second)
	for i := 0; i < 100; i++ {
		off.Failure()
	}
	if ok, _ := off.Allow(); !ok {
		t.Fatal("a disabled breaker refused a call")
	}
}
