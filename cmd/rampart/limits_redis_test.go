package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rampart-gw/rampart/internal/redistest"
	"github.com/rampart-gw/rampart/internal/sim"
)

// childArgsEnv, when set, makes the test binary run rampart with these
// arguments (separated by newlines) instead of the tests: a gateway process
// without a separate build.
const childArgsEnv = "RAMPART_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgsEnv); args != "" {
		os.Exit(run(strings.Split(args, "\n"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const procKey = "rk-test-procs-0123456789abcdefghijklmnopqrstuvwxyz"

// testRedis returns the test Redis address, or skips (redistest.Addr).
func testRedis(t *testing.T) string {
	t.Helper()
	return redistest.Addr(t)
}

// startServe runs `rampart serve -c FILE` as a child process and returns
// its client address once it logs that it serves. The process is stopped
// (SIGTERM, then killed) when the test ends.
func startServe(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "rampart.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"=serve\n-c\n"+path)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	addr := make(chan string, 1)
	var logs strings.Builder
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			logs.WriteString(line + "\n")
			logMu.Unlock()
			var v struct {
				Msg    string `json:"msg"`
				Listen string `json:"listen"`
			}
			if json.Unmarshal([]byte(line), &v) == nil && v.Msg == "rampart serving" {
				addr <- v.Listen
			}
		}
	}()
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case a := <-addr:
		return a
	case <-exited:
	case <-time.After(30 * time.Second):
	}
	logMu.Lock()
	defer logMu.Unlock()
	t.Fatalf("the gateway process did not start:\n%s", logs.String())
	return ""
}

// TestThreeProcessesShareRedis runs three gateway processes on one Redis
// and sends them twice what a 600 requests/minute limit allows, and more
// than a tokens/minute limit allows, concurrently: exactly 600 requests
// are served across the three, and the tokens served (as the upstream
// counted them) stay within the token limit and within 2% of it.
func TestThreeProcessesShareRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three gateway processes")
	}
	addr := testRedis(t)
	// Minute windows: start with at least 25 s of the minute left, so the
	// load fits in one window.
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < 25*time.Second {
		time.Sleep(left + 100*time.Millisecond)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	const reqLimit, tokLimit = 600, 4000

	srv := httptest.NewServer(sim.New(sim.Options{}))
	defer srv.Close()
	var gws []openai.Client
	for range 3 {
		yaml := fmt.Sprintf(`listen: {addr: 127.0.0.1:0}
admin: {addr: 127.0.0.1:0}
data_dir: %s
log: {format: json}
auth: {api_keys: false, static_keys: [{name: test, team: qa, key: %s}]}
upstreams:
  sim: {url: %s/v1, flavor: deepseek}
routes:
  - {name: r, models: [deepseek-chat], upstreams: [sim]}
  - {name: r-tok, models: [deepseek-v3], upstreams: [{upstream: sim, model: deepseek-chat}]}
limits:
  backend: redis
  redis_url: redis://%s/0
  rules:
    - {name: rpm-%s, by: [key], match: {model: [deepseek-chat]}, window: minute, requests: %d}
    - {name: tpm-%s, by: [key], match: {model: [deepseek-v3]}, window: minute, total_tokens: %d}
`, t.TempDir(), procKey, srv.URL, addr, id, reqLimit, id, tokLimit)
		base := startServe(t, yaml)
		gws = append(gws, openai.NewClient(option.WithBaseURL("http://"+base+"/v1"), option.WithAPIKey(procKey), option.WithMaxRetries(0)))
	}
	run := func(model string, n int) (served, tokens, refused int64) {
		var wg sync.WaitGroup
		var s, tok, r, next atomic.Int64
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for w := range 24 {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					c, err := gws[w%3].Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
						Model:     model,
						Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Share the limit")},
						MaxTokens: openai.Int(8),
					})
					if err != nil {
						var apiErr *openai.Error
						if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
							t.Errorf("want 200 or 429, got %v", err)
						}
						r.Add(1)
						continue
					}
					s.Add(1)
					tok.Add(c.Usage.TotalTokens)
				}
			})
		}
		wg.Wait()
		return s.Load(), tok.Load(), r.Load()
	}
	start := time.Now()
	served, _, refused := run("deepseek-chat", 2*reqLimit)
	t.Logf("requests: %d served, %d refused in %v, limit %d a minute", served, refused, time.Since(start).Round(time.Millisecond), reqLimit)
	if served != reqLimit {
		t.Errorf("%d requests served across three gateway processes, want exactly %d", served, reqLimit)
	}
	served, tokens, refused := run("deepseek-v3", 600)
	t.Logf("tokens: %d served in %d requests (%d refused), limit %d a minute (%.2f%%)", tokens, served, refused, tokLimit, 100*float64(tokens)/tokLimit)
	if tokens > tokLimit || float64(tokens) < 0.98*tokLimit {
		t.Errorf("%d tokens served across three gateway processes, want within 2%% of %d and never above", tokens, tokLimit)
	}
}
