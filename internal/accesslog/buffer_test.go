package accesslog

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	n  int // write calls
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	return l.b.Write(p)
}

func (l *lockedBuffer) snapshot() (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.n
}

func TestBufferedWriterBatchesAndFlushes(t *testing.T) {
	t.Parallel()
	var dst lockedBuffer
	w := NewBufferedWriter(&dst, 20*time.Millisecond)
	for i := 0; i < 100; i++ {
		_, _ = w.Write([]byte("line\n"))
	}
	// The lines arrive after the interval without any further call, in
	// far fewer writes than lines.
	deadline := time.Now().Add(2 * time.Second)
	for {
		s, n := dst.snapshot()
		if strings.Count(s, "line\n") == 100 {
			if n >= 100 {
				t.Fatalf("%d writes for 100 lines: not batched", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lines not flushed within 2s: %q", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, _ = w.Write([]byte("last\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s, _ := dst.snapshot(); !strings.HasSuffix(s, "last\n") {
		t.Fatalf("Close did not flush: %q", s)
	}
}
