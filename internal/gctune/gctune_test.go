package gctune

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	p := Policy{Headroom: 64 << 20, Max: 400, Min: 50}
	for _, tc := range []struct {
		live, roots uint64
		want        int
	}{
		{0, 0, 400},
		{4 << 20, 2 << 20, 400},
		{12 << 20, 4 << 20, 400},
		{24 << 20, 8 << 20, 200},
		{48 << 20, 16 << 20, 100},
		{45 << 20, 25 << 20, 91},
		{1 << 30, 0, 50},
	} {
		if got := p.Percent(tc.live, tc.roots); got != tc.want {
			t.Errorf("Percent(%d MiB live, %d MiB roots) = %d, want %d", tc.live>>20, tc.roots>>20, got, tc.want)
		}
	}
}

func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// waitFor collects until the target is want; the tuner adjusts it after
// each collection, from the cleanup goroutine.
func waitFor(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for gogc() != want {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC is %d, want %d", gogc(), want)
		}
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTunerFollowsTheLiveHeap(t *testing.T) {
	Start(Policy{Headroom: 16 << 20, Max: 400, Min: 100})
	// The test binary's own roots and heap are a few MiB: the high target.
	waitFor(t, 400)
	func() {
		// A live heap four times the headroom: the standard target.
		live := make([][]byte, 64)
		for i := range live {
			live[i] = make([]byte, 1<<20)
		}
		waitFor(t, 100)
		runtime.KeepAlive(live)
	}()
	// The heap is small again: the high target is back.
	waitFor(t, 400)
}
