package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// requiredKeys are the keys the last line of `rampart bench` must have.
var requiredKeys = []string{
	"direct_rps", "rampart_rps", "cpu_us_per_request", "added_p50_ms", "added_p99_ms",
	"added_ttft_ms", "cpu_us_per_stream_event", "truncated_streams", "added_inter_event_ms",
	"errors", "kb_per_open_stream", "rss_idle_mb", "sim_cpu_us_per_request", "duration_s",
	"concurrency", "go_version", "num_cpu", "added_p50_1client_ms", "added_ttft_1client_ms",
}

// lastLineJSON decodes the last line of out as a JSON object.
func lastLineJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	var v map[string]any
	if err := json.Unmarshal([]byte(last), &v); err != nil {
		t.Fatalf("last line is not a JSON object: %v\n%s", err, out)
	}
	for _, k := range requiredKeys {
		if _, ok := v[k]; !ok {
			t.Errorf("result has no key %q", k)
		}
	}
	return v
}

// TestRunWithFakeBinary runs the whole benchmark against this test binary
// acting as the simulator and the gateway (see TestMain). It cannot run in
// parallel because the children learn their role from the environment.
func TestRunWithFakeBinary(t *testing.T) {
	t.Setenv(fakeEnv, "1")
	var stdout, stderr bytes.Buffer
	args := []string{"--binary", os.Args[0], "--duration", "1s", "--warmup", "200ms",
		"--concurrency", "4", "--streams-open", "20", "--stream-events", "20", "--body-bytes", "512"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	defer func() { t.Logf("run took %v", time.Since(start)) }()
	if err := Run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("Run() = %v\nstderr:\n%s", err, stderr.String())
	}
	v := lastLineJSON(t, stdout.String())
	checks := []struct {
		key  string
		want func(float64) bool
	}{
		{"direct_rps", positive},
		{"rampart_rps", positive},
		{"errors", zero},
		{"truncated_streams", zero},
		{"concurrency", func(f float64) bool { return f == 4 }},
		{"duration_s", func(f float64) bool { return f == 1 }},
		{"rss_idle_mb", positive},
		{"open_streams", func(f float64) bool { return f == 20 }},
		{"direct_events_per_s", positive},
		{"rampart_events_per_s", positive},
		{"cpu_us_per_request", positive},
		{"direct_p50_1client_ms", positive},
		{"rampart_p50_1client_ms", positive},
		{"rampart_ttft_1client_ms", positive},
	}
	for _, c := range checks {
		f, _ := v[c.key].(float64)
		if !c.want(f) {
			t.Errorf("%s = %v, unexpected", c.key, v[c.key])
		}
	}
	if !strings.Contains(stdout.String(), "requests/s") {
		t.Errorf("no table before the JSON line:\n%s", stdout.String())
	}
	assertNoChildren(t)
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

// TestRunStopsChildrenOnCancel cancels a run in its first phase and checks
// that it returns promptly and leaves no child process behind.
func TestRunStopsChildrenOnCancel(t *testing.T) {
	t.Setenv(fakeEnv, "1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	stderr := &notifyWriter{match: "name=direct", seen: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"--binary", os.Args[0], "--duration", "1h", "--streams-open", "0", "--concurrency", "2"}, &stdout, stderr)
	}()
	select {
	case <-stderr.seen:
	case err := <-done:
		t.Fatalf("Run() returned %v before its first phase", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the first phase did not start within 30s")
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Run() = nil after cancellation, want an error")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run() did not return within 15s of cancellation")
	}
	assertNoChildren(t)
}

// notifyWriter closes seen the first time a write contains match.
type notifyWriter struct {
	match string
	seen  chan struct{}
	done  bool
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	if !w.done && bytes.Contains(p, []byte(w.match)) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

// assertNoChildren fails if this process has child processes left.
func assertNoChildren(t *testing.T) {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := strconv.Itoa(os.Getpid())
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		end := bytes.LastIndexByte(data, ')')
		if end < 0 {
			continue
		}
		if fields := strings.Fields(string(data[end+1:])); len(fields) > 1 && fields[1] == me {
			t.Errorf("child process left behind: %s", data[:end+1])
		}
	}
}

func positive(f float64) bool { return f > 0 }
func zero(f float64) bool     { return f == 0 }
