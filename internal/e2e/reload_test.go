package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/sim"
)

// parseConfig parses a test configuration.
func parseConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "e2e.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config:\n%s\n%s", yaml, config.FormatErrors(err))
	}
	return cfg
}

// TestReloadUnderLoad swaps configurations while eight clients send
// requests without pause: not one request may fail.
func TestReloadUnderLoad(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat, deepseek-reasoner", Upstreams: "sim"}}, "")
	simURL := upstreamURL(t, e.yaml, "sim")
	// Variants: the reasoning policy alternates, and every other one adds
	// an upstream that the route fails over to.
	var variants []string
	for i := range 4 {
		y := e.yaml
		if i%2 == 1 {
			y = strings.Replace(y, "    reasoning: pass", "    reasoning: strip", 1)
		}
		if i >= 2 {
			y = strings.Replace(y, "upstreams:\n", "upstreams:\n  spare:\n    url: "+simURL+"\n    flavor: deepseek\n", 1)
			y = strings.Replace(y, "    upstreams: [sim]", "    upstreams: [sim, spare]", 1)
		}
		if i > 0 && y == e.yaml {
			t.Fatalf("variant %d is the starting configuration", i)
		}
		variants = append(variants, y)
	}
	cfgs := make([]*config.Config, len(variants))
	for i, y := range variants {
		cfgs[i] = parseConfig(t, y)
	}

	client, tr := newClient()
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// The clients run until the reloads are done; each request has the
	// whole test's time, so that none is cut short by the test itself.
	stop := make(chan struct{})
	var ok, failed atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := reloadProbe(ctx, e, client, (w+i)%2 == 0); err != nil {
					failed.Add(1)
					firstErr.Do(func() { t.Errorf("request failed during reloads: %v", err) })
					continue
				}
				ok.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(2 * time.Second)
	for i := range 20 {
		if err := e.gw.Apply(cfgs[i%len(cfgs)]); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
		// Twenty reloads spread over at most two seconds, so that requests
		// start and end on every configuration.
		wait := time.Until(deadline) / time.Duration(20-i)
		time.Sleep(max(wait, 0))
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests served during 20 reloads", ok.Load())
	if failed.Load() != 0 || ok.Load() < 8 {
		t.Errorf("%d requests served, %d failed", ok.Load(), failed.Load())
	}
	if got := metric(e.metrics(), "rampart_config_reloads_total", `result="ok"`); got != 20 {
		t.Errorf("reloads metric %v, want 20", got)
	}
}

// reloadProbe sends one request and checks that it completed.
func reloadProbe(ctx context.Context, e *env, client *http.Client, stream bool) error {
	req := e.newRequest("/v1/chat/completions", chatBody("deepseek-reasoner", stream, "")).WithContext(ctx)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	if stream && !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
		return fmt.Errorf("stream without [DONE]: %q", tail(b, 200))
	}
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// upstreamURL finds the url of an upstream in a test configuration.
func upstreamURL(t *testing.T, yaml, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(yaml, "\n  "+name+":\n    url: ")
	if !ok {
		t.Fatalf("no upstream %s", name)
	}
	u, _, _ := strings.Cut(rest, "\n")
	return u
}

// TestReloadRejectsBadFile checks that a bad configuration file is
// rejected by Reload and the old configuration keeps serving, and that a
// good file then takes effect.
func TestReloadRejectsBadFile(t *testing.T) {
	t.Parallel()
	e := startWith(t, startOpts{ConfigFile: true}, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	path := e.configPath
	old := e.gw.Config()
	bad := []struct{ desc, yaml string }{
		{"unknown key", e.yaml + "surprise: true\n"},
		{"unknown upstream", strings.Replace(e.yaml, "upstreams: [sim]", "upstreams: [nowhere]", 1)},
		{"not YAML", "listen: [\n"},
	}
	for _, b := range bad {
		if err := os.WriteFile(path, []byte(b.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := e.gw.Reload(); err == nil {
			t.Errorf("%s: Reload accepted a bad file", b.desc)
		}
		if e.gw.Config() != old {
			t.Fatalf("%s: the configuration changed", b.desc)
		}
		if resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, "")); resp.StatusCode != 200 {
			t.Fatalf("%s: the old configuration stopped serving: %d %s", b.desc, resp.StatusCode, body)
		}
	}
	if got := metric(e.metrics(), "rampart_config_reloads_total", `result="error"`); got < float64(len(bad)) {
		t.Errorf("reload errors metric %v, want at least %d", got, len(bad))
	}
	good := strings.Replace(e.yaml, "models: [deepseek-chat]", "models: [deepseek-chat, deepseek-reasoner]", 1)
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.Reload(); err != nil {
		t.Fatalf("a good file was rejected: %v", err)
	}
	if resp, body := e.post("/v1/chat/completions", chatBody("deepseek-reasoner", false, "")); resp.StatusCode != 200 {
		t.Fatalf("the new configuration does not serve: %d %s", resp.StatusCode, body)
	}
}
