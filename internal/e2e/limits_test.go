package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rampart-gw/rampart/internal/sim"
)

// burstOverCap holds cap hanging requests, then sends a burst of cap more
// at once: every one of the burst must be refused with status and code,
// each within 50 ms.
func burstOverCap(t *testing.T, e *env, cap, status int, code string) {
	t.Helper()
	client, tr := newClient()
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hctx, release := context.WithCancel(ctx)
	errs := make(chan error, cap)
	for range cap {
		go func() {
			req := e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", true, `,"x_sim":{"hang":true}`))
			resp, err := client.Do(req.WithContext(hctx))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	if err := e.sims["sim"].WaitRequests(ctx, cap); err != nil {
		t.Fatal("the hanging requests did not arrive")
	}
	// Open the burst's connections first, so the burst measures the
	// gateway rather than connection setup.
	burst, btr := newClient()
	btr.MaxIdleConnsPerHost = cap
	defer btr.CloseIdleConnections()
	var warm sync.WaitGroup
	for range cap {
		warm.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/healthz-warm", nil)
			if resp, err := burst.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	warm.Wait()
	var wg sync.WaitGroup
	start := make(chan struct{})
	type answer struct {
		status int
		body   []byte
		hdr    http.Header
		took   time.Duration
	}
	answers := make(chan answer, cap)
	for range cap {
		wg.Go(func() {
			req := e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
			<-start
			t0 := time.Now()
			resp, err := burst.Do(req.WithContext(ctx))
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers <- answer{resp.StatusCode, b, resp.Header, time.Since(t0)}
		})
	}
	close(start)
	wg.Wait()
	close(answers)
	var slowest time.Duration
	n := 0
	for a := range answers {
		n++
		checkAPIError(t, &http.Response{StatusCode: a.status, Header: a.hdr}, a.body, status, code)
		if a.hdr.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		slowest = max(slowest, a.took)
	}
	if n != cap {
		t.Fatalf("%d answers to a burst of %d", n, cap)
	}
	t.Logf("slowest refusal of %d: %v", cap, slowest)
	if slowest > 50*time.Millisecond {
		t.Errorf("a refusal took %v, want under 50ms", slowest)
	}
	release()
	for range cap {
		<-errs
	}
}

// TestKeyInFlightBurst: with limits.max_in_flight_per_key, a burst of
// twice the cap from one key gets the cap served and the rest 429 at once.
func TestKeyInFlightBurst(t *testing.T) {
	t.Parallel()
	const cap = 4
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}},
		"limits: {max_in_flight_per_key: "+strconv.Itoa(cap)+"}\n")
	burstOverCap(t, e, cap, 429, "rate_limit_exceeded")
	// The slots come back when the hanging requests end.
	waitFor(t, 5*time.Second, func() bool {
		resp, _ := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
		return resp.StatusCode == 200
	})
}

// TestInFlightBurst: a burst of twice listen.max_in_flight gets the excess
// a 503 at once.
func TestInFlightBurst(t *testing.T) {
	t.Parallel()
	const cap = 4
	e := startWith(t, startOpts{Listen: "max_in_flight: " + strconv.Itoa(cap)},
		[]upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	burstOverCap(t, e, cap, 503, "overloaded")
}

// TestLimitHeadersSDK reads the x-ratelimit headers as an openai-go client
// sees them: the limits, the remaining counts going down request by
// request, and resets as durations.
func TestLimitHeadersSDK(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}},
		"limits: {rules: [{name: per-key, by: [key], window: minute, requests: 5, total_tokens: 100000, max_output_tokens: 64}]}\n")
	params := openai.ChatCompletionNewParams{
		Model:    "deepseek-chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
	for i := range 5 {
		var resp *http.Response
		if _, err := e.client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&resp)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		h := resp.Header
		if got := h.Get("x-ratelimit-limit-requests"); got != "5" {
			t.Errorf("request %d: limit-requests %q", i, got)
		}
		if got := h.Get("x-ratelimit-remaining-requests"); got != strconv.Itoa(4-i) {
			t.Errorf("request %d: remaining-requests %q, want %d", i, got, 4-i)
		}
		if got := h.Get("x-ratelimit-limit-tokens"); got != "100000" {
			t.Errorf("request %d: limit-tokens %q", i, got)
		}
		rem, err := strconv.Atoi(h.Get("x-ratelimit-remaining-tokens"))
		if err != nil || rem >= 100000 || rem < 100000-(i+1)*200 {
			t.Errorf("request %d: remaining-tokens %q", i, h.Get("x-ratelimit-remaining-tokens"))
		}
		for _, name := range []string{"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"} {
			if d, err := time.ParseDuration(h.Get(name)); err != nil || d <= 0 || d > time.Minute {
				t.Errorf("request %d: %s %q", i, name, h.Get(name))
			}
		}
	}
	var apiErr *openai.Error
	_, err := e.client.Chat.Completions.New(context.Background(), params)
	if err == nil {
		t.Fatal("sixth request in the minute: no error")
	}
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("sixth request: %v", err)
	}
}

// TestUsagePersisted: the usage of requests reaches the store in
// aggregated flushes and the admin API reports it per key and model,
// tokens as the upstream reported them.
func TestUsagePersisted(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}},
		"limits:\n  usage_flush_interval: 50ms\n  prices: {deepseek-chat: {input_cache_hit: 1, input_cache_miss: 2, output: 3}}\n")
	params := openai.ChatCompletionNewParams{
		Model:     "deepseek-chat",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Count the usage of this request")},
		MaxTokens: openai.Int(16),
	}
	var prompt, completion int64
	for range 3 {
		c, err := e.client.Chat.Completions.New(context.Background(), params)
		if err != nil {
			t.Fatal(err)
		}
		prompt += c.Usage.PromptTokens
		completion += c.Usage.CompletionTokens
	}
	type row struct {
		Key              string  `json:"key"`
		Model            string  `json:"model"`
		Requests         int64   `json:"requests"`
		PromptTokens     int64   `json:"prompt_tokens"`
		CompletionTokens int64   `json:"completion_tokens"`
		Cost             float64 `json:"cost"`
	}
	var got []row
	waitFor(t, 5*time.Second, func() bool {
		resp, err := http.Get(e.admin + "/admin/v1/usage?granularity=total&group_by=key,model")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var out struct {
			Usage []row `json:"usage"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
			return false
		}
		got = out.Usage
		return len(got) == 1 && got[0].Requests == 3
	})
	r := got[0]
	if r.Model != "deepseek-chat" || r.Key == "" || r.PromptTokens != prompt || r.CompletionTokens != completion {
		t.Fatalf("usage %+v; want 3 requests, %d prompt and %d completion tokens", r, prompt, completion)
	}
	if want := (float64(prompt)*2 + float64(completion)*3) / 1e6; r.Cost < want*0.999 || r.Cost > want*1.001+1e-9 {
		t.Errorf("cost %v, want %v", r.Cost, want)
	}
	if st, code := e.adminDo("GET", "/admin/v1/usage?granularity=week", "", ""); st != 400 || code != "invalid_query" {
		t.Errorf("bad granularity: %d %q, want an OpenAI-style 400 invalid_query", st, code)
	}
}

// TestDisconnectCharged: a client that leaves a stream before the upstream
// reports usage is charged what was reserved for it (prompt and output),
// so that leaving early cannot dodge a token budget; a request that
// completes is charged its real usage.
func TestDisconnectCharged(t *testing.T) {
	t.Parallel()
	const limit = 100000
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}},
		"limits: {usage_flush_interval: 20ms, rules: [{name: tokens, by: [key], window: hour, total_tokens: "+strconv.Itoa(limit)+", max_output_tokens: 500}]}\n")
	remaining := func(resp *http.Response) int {
		t.Helper()
		n, err := strconv.Atoi(resp.Header.Get("X-Ratelimit-Remaining-Tokens"))
		if err != nil {
			t.Fatalf("remaining tokens %q", resp.Header.Get("X-Ratelimit-Remaining-Tokens"))
		}
		return n
	}
	// A slow stream: read its first event, then leave.
	client, tr := newClient()
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := client.Do(e.newRequest("/v1/chat/completions",
		chatBody("deepseek-chat", true, `,"max_tokens":200,"x_sim":{"tps":5,"answer_tokens":100}`)).WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	reserved := limit - remaining(resp)
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	// Wait until the gateway has finished the stream (its usage record is
	// flushed), then read the counter in the next admission's headers:
	// limit − the stream's charge − this request's reservation (the same
	// as the stream's).
	waitFor(t, 5*time.Second, func() bool {
		r, err := http.Get(e.admin + "/admin/v1/usage?granularity=total")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		var out struct {
			Usage []struct {
				Requests int `json:"requests"`
			} `json:"usage"`
		}
		return json.NewDecoder(r.Body).Decode(&out) == nil && len(out.Usage) == 1 && out.Usage[0].Requests == 1
	})
	r, _ := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, `,"max_tokens":200`))
	if rem := remaining(r); rem != limit-2*reserved {
		t.Fatalf("remaining %d after a disconnect, want %d (the stream charged its reservation of %d)", rem, limit-2*reserved, reserved)
	}
}
