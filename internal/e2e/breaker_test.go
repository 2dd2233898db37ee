package e2e_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/sim"
)

// TestCircuitBreaker: after a run of failures the upstream is no longer
// called and clients get a fast 503 with Retry-After; after the cool-down a
// probe goes through, and its success closes the breaker.
func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	healthy := sim.New(sim.Options{})
	var failing atomic.Bool
	var hits atomic.Int64
	failing.Store(true)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if failing.Load() {
			http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusBadGateway)
			return
		}
		healthy.ServeHTTP(w, r)
	}))
	defer up.Close()
	e := start(t, []upstreamSpec{{Name: "flaky", URL: up.URL + "/v1"}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "flaky"}}, "")
	// The harness has no breaker knobs: set them through a reload.
	cfg := e.gw.Config().Clone()
	cfg.Upstreams["flaky"].CircuitBreaker.Failures = 3
	cfg.Upstreams["flaky"].CircuitBreaker.Cooldown = 300 * time.Millisecond
	if err := e.gw.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
		if resp.StatusCode < 500 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
		if i >= 3 && (!strings.Contains(string(body), "upstream_unavailable") || resp.Header.Get("Retry-After") == "") {
			t.Fatalf("request %d with the breaker open: %d %v %s", i, resp.StatusCode, resp.Header, body)
		}
	}
	if n := hits.Load(); n != 3 {
		t.Fatalf("the failing upstream was called %d times, want 3 (the breaker's threshold)", n)
	}
	failing.Store(false)
	deadline := time.Now().Add(3 * time.Second)
	for {
		resp, _ := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the breaker did not let a probe through after its cool-down")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := 0; i < 3; i++ {
		if resp, b := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, "")); resp.StatusCode != 200 {
			t.Fatalf("after the probe succeeded: %d %s", resp.StatusCode, b)
		}
	}
}
