package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and one poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

func TestRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"--listen", "127.0.0.1:0", "--flavor", "ollama", "--echo", "--api-key", "k1"}, &stdout, &stderr)
	}()
	var addr string
	deadline := time.Now().Add(5 * time.Second)
	for addr == "" && time.Now().Before(deadline) {
		if line, ok := strings.CutPrefix(stdout.String(), "simulator listening on http://"); ok {
			addr, _, _ = strings.Cut(line, " ")
			if !strings.HasSuffix(line, " (flavor ollama)\n") {
				t.Errorf("line %q", line)
			}
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v; stderr %s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if addr == "" || strings.HasSuffix(addr, ":0") {
		t.Fatalf("no listening line with a real port: %q", stdout.String())
	}
	resp := post(ctx, t, "http://"+addr+"/v1/chat/completions", `{"model":"deepseek-chat","messages":[{"role":"user","content":"ping"}]}`, map[string]string{"Authorization": "Bearer k1"})
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), `"content":"ping"`) {
		t.Errorf("got %d %s", resp.StatusCode, raw)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunFlagErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc string
		args []string
	}{
		{"unknown flavor", []string{"--flavor", "gpt"}},
		{"unknown flag", []string{"--nope"}},
		{"stray argument", []string{"extra"}},
		{"negative tps", []string{"--tps", "-1"}},
		{"bad address", []string{"--listen", "127.0.0.1:notaport"}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			err := Run(testCtx(t), c.args, io.Discard, io.Discard)
			if err == nil || errors.Is(err, context.Canceled) {
				t.Errorf("Run(%v) = %v, want an error", c.args, err)
			}
		})
	}
}
