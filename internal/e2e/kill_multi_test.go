package e2e_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/sim"
)

// startSecond runs a second gateway on e's configuration: same data folder,
// so the same store, and the same simulators; its own listeners and log.
func (e *env) startSecond() *env {
	e.t.Helper()
	b := &env{t: e.t, sims: e.sims, logs: &syncBuffer{}, yaml: e.yaml}
	return b.run(e.yaml, "")
}

// TestKillSwitchReachesEveryInstance: two gateways share a store. A kill
// flipped on A answers new requests on B with the kill switch's 503 within
// a second, ends B's open streams with the terminal error event, and B
// records the kill with A's actor and reason; a revival on A lifts it on B
// within a second.
func TestKillSwitchReachesEveryInstance(t *testing.T) {
	t.Parallel()
	a := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	b := a.startSecond()
	if a.dataDir() != b.dataDir() {
		t.Fatalf("data folders differ: %s, %s", a.dataDir(), b.dataDir())
	}
	const streams = 20
	// The upstream barely moves: two tokens a second for ten thousand.
	slow := `,"x_sim":{"tps":2,"events":10000,"reasoning_tokens":0}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	started := make(chan struct{}, streams)
	ended := make(chan string, streams)
	var wg sync.WaitGroup
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := b.newRequest("/v1/chat/completions", chatBody("deepseek-chat", true, slow)).WithContext(ctx)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				started <- struct{}{}
				ended <- "error: " + err.Error()
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			first, last := true, ""
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data: ") {
					if first {
						started <- struct{}{}
						first = false
					}
					last = sc.Text()
				}
			}
			if first {
				started <- struct{}{}
			}
			ended <- last
		}()
	}
	for range streams {
		select {
		case <-started:
		case <-ctx.Done():
			t.Fatal("streams did not start")
		}
	}

	// Timed from the moment the kill is sent to A.
	t0 := time.Now()
	status, body := a.adminPost("/admin/v1/kill", `{"target":"sim","reason":"incident 9","actor":"alice"}`)
	if status != 200 {
		t.Fatalf("kill on A: %d %s", status, body)
	}
	var last string
	for {
		resp, body := b.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
		if resp.StatusCode == 503 {
			if !strings.Contains(string(body), "kill switch") {
				t.Fatalf("B's 503 does not name the kill switch: %s", body)
			}
			last = resp.Header.Get("X-Request-Id")
			break
		}
		if resp.StatusCode != 200 {
			t.Fatalf("B before the kill reached it: %d %s", resp.StatusCode, body)
		}
		if time.Since(t0) > 5*time.Second {
			t.Fatal("the kill did not reach B within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	reached := time.Since(t0)
	t.Logf("the kill reached B after %v", reached)
	if reached >= time.Second {
		t.Errorf("the kill reached B after %v, want under 1s", reached)
	}

	for range streams {
		select {
		case l := <-ended:
			if !strings.Contains(l, "upstream_killed") {
				t.Errorf("a stream on B ended with %q, want the kill switch's error event", l)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("B's open streams did not end within 5s of the kill")
		}
	}
	wg.Wait()
	t.Logf("B's streams ended %v after the kill", time.Since(t0))

	// B records the flip with A's actor and reason.
	if status, kills := b.adminGet("/admin/v1/kill"); status != 200 ||
		!strings.Contains(kills, `"actor":"alice"`) || !strings.Contains(kills, `"reason":"incident 9"`) {
		t.Fatalf("B's kills: %d %s", status, kills)
	}
	if logs := b.logs.String(); !strings.Contains(logs, `"msg":"kill switch kill","target":"sim","actor":"alice","reason":"incident 9","from_other_instance":true`) {
		t.Errorf("B's log does not record the kill with its actor:\n%s", logs)
	}
	waitFor(t, 5*time.Second, func() bool {
		rows, _ := b.auditRows("request_id=" + url.QueryEscape(last))
		return len(rows) == 1 && rows[0].Status == 503
	})

	t0 = time.Now()
	status, body = a.adminPost("/admin/v1/revive", `{"target":"sim","actor":"bob"}`)
	if status != 200 {
		t.Fatalf("revive on A: %d %s", status, body)
	}
	for {
		resp, body := b.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
		if resp.StatusCode == 200 {
			break
		}
		if resp.StatusCode != 503 {
			t.Fatalf("B after the revival: %d %s", resp.StatusCode, body)
		}
		if time.Since(t0) > 5*time.Second {
			t.Fatal("the revival did not reach B within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	reached = time.Since(t0)
	t.Logf("the revival reached B after %v", reached)
	if reached >= time.Second {
		t.Errorf("the revival reached B after %v, want under 1s", reached)
	}
	if logs := b.logs.String(); !strings.Contains(logs, `"msg":"kill switch revive","target":"sim","actor":"bob"`) {
		t.Errorf("B's log does not record the revival with its actor:\n%s", logs)
	}
}
