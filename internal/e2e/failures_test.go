package e2e_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rampart-gw/rampart/internal/sim"
)

// TestFailover checks when the next upstream is tried: only while nothing
// reached the client and the request certainly produced no completion.
func TestFailover(t *testing.T) {
	t.Parallel()
	s503 := newStatusUpstream(t, http.StatusServiceUnavailable, "")
	rl1 := newStatusUpstream(t, http.StatusTooManyRequests, "7")
	rl2 := newStatusUpstream(t, http.StatusTooManyRequests, "7")
	ups := []upstreamSpec{
		{Name: "dead", URL: deadURL(t)},
		{Name: "s503", URL: s503.URL},
		{Name: "rl1", URL: rl1.URL},
		{Name: "rl2", URL: rl2.URL},
		{Name: "hang", Sim: &sim.Options{}, Timeouts: "first_byte: 300ms"},
		{Name: "drop", Sim: &sim.Options{}},
	}
	spares := []string{"spare_dead", "spare_503", "spare_hang", "spare_drop"}
	for _, s := range spares {
		ups = append(ups, upstreamSpec{Name: s, Sim: &sim.Options{}})
	}
	retries := "    retries: {backoff: 5ms}\n"
	e := start(t, ups, []routeSpec{
		simRoute("r-dead", "m-dead", "dead, spare_dead", retries),
		simRoute("r-503", "m-503", "s503, spare_503", retries),
		simRoute("r-429", "m-429", "rl1, rl2", retries),
		simRoute("r-hang", "m-hang", "hang, spare_hang", retries),
		simRoute("r-drop", "m-drop", "drop, spare_drop", retries),
	}, "")

	tests := []struct {
		desc     string
		model    string
		body     string
		status   int
		code     string // error code, for failures
		upstream string // upstream in the record
		attempts int
		spare    string // simulator that must (or must not) have served
		spareN   int
		check    func(t *testing.T, resp *http.Response, body []byte)
	}{
		{desc: "connect failure fails over", model: "m-dead", body: chatBody("m-dead", false, ""),
			status: 200, upstream: "spare_dead", attempts: 2, spare: "spare_dead", spareN: 1},
		{desc: "503 fails over", model: "m-503", body: chatBody("m-503", false, ""),
			status: 200, upstream: "spare_503", attempts: 2, spare: "spare_503", spareN: 2,
			check: func(t *testing.T, _ *http.Response, _ []byte) {
				if n := s503.hits.Load(); n != 2 {
					t.Errorf("503 upstream got %d requests, want 2 (one here, one in the metric check)", n)
				}
			}},
		{desc: "429 from the last upstream is passed on with Retry-After", model: "m-429", body: chatBody("m-429", false, ""),
			status: 429, code: "upstream_rate_limited", upstream: "rl2", attempts: 2,
			check: func(t *testing.T, resp *http.Response, _ []byte) {
				if ra := resp.Header.Get("Retry-After"); ra != "7" {
					t.Errorf("Retry-After %q, want 7", ra)
				}
				if rl1.hits.Load() != 1 || rl2.hits.Load() != 1 {
					t.Errorf("hits %d, %d; want one each", rl1.hits.Load(), rl2.hits.Load())
				}
			}},
		{desc: "timeout after the request was sent is not retried", model: "m-hang",
			body:   chatBody("m-hang", false, `,"x_sim":{"hang":true}`),
			status: 504, code: "upstream_timeout", upstream: "hang", attempts: 1, spare: "spare_hang",
			check: func(t *testing.T, _ *http.Response, _ []byte) {
				if n := len(e.sims["hang"].Requests()); n != 1 {
					t.Errorf("hanging upstream got %d requests, want 1", n)
				}
			}},
		{desc: "nothing is retried after the first byte", model: "m-drop",
			body:   chatBody("m-drop", true, `,"x_sim":{"drop_after":3}`),
			status: 200, code: "upstream_stream_broken", upstream: "drop", attempts: 1, spare: "spare_drop",
			check: func(t *testing.T, _ *http.Response, body []byte) {
				checkBrokenStream(t, body)
			}},
	}
	// The attempts metric counts each attempt against the upstream it
	// went to. This runs before the parallel cases, which move the same
	// counters.
	t.Run("attempts metric counts failovers", func(t *testing.T) {
		failed := metric(e.metrics(), "rampart_upstream_attempts_total", `upstream="s503"`)
		spare := metric(e.metrics(), "rampart_upstream_attempts_total", `upstream="spare_503"`)
		resp, _ := e.post("/v1/chat/completions", chatBody("m-503", false, ""))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		e.record(resp.Header.Get("X-Request-Id"))
		if got := metric(e.metrics(), "rampart_upstream_attempts_total", `upstream="s503"`) - failed; got != 1 {
			t.Errorf("attempts on the failing upstream grew by %v, want 1", got)
		}
		if got := metric(e.metrics(), "rampart_upstream_attempts_total", `upstream="spare_503"`) - spare; got != 1 {
			t.Errorf("attempts on the spare grew by %v, want 1", got)
		}
	})
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			resp, body := e.post("/v1/chat/completions", tc.body)
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				checkAPIError(t, resp, body, tc.status, tc.code)
			}
			rec := e.record(resp.Header.Get("X-Request-Id"))
			if rec.Attempts != tc.attempts || rec.Upstream != tc.upstream {
				t.Errorf("record: upstream %q attempts %d; want %q, %d", rec.Upstream, rec.Attempts, tc.upstream, tc.attempts)
			}
			if tc.code != "" && rec.ErrorCode != tc.code {
				t.Errorf("record error code %q, want %q", rec.ErrorCode, tc.code)
			}
			if tc.spare != "" {
				if n := len(e.sims[tc.spare].Requests()); n != tc.spareN {
					t.Errorf("%s got %d requests, want %d", tc.spare, n, tc.spareN)
				}
			}
			if tc.check != nil {
				tc.check(t, resp, body)
			}
		})
	}
}

// checkBrokenStream asserts that a stream ended with a terminal error event
// and without [DONE].
func checkBrokenStream(t *testing.T, body []byte) {
	t.Helper()
	events := sseEvents(body)
	if len(events) == 0 {
		t.Fatalf("no events: %q", body)
	}
	if last := events[len(events)-1]; !strings.HasPrefix(last, `{"error":`) {
		t.Errorf("last event %q, want a terminal error event", last)
	}
	if strings.Contains(string(body), "data: [DONE]") {
		t.Errorf("a broken stream carries [DONE]: %q", body)
	}
}

// timeoutCase is one case of TestTimeouts.
type timeoutCase struct {
	desc   string
	body   string
	status int
	code   string
	stream bool // the failure arrives as a terminal event of a 200 stream
	max    time.Duration
}

// TestTimeouts checks each upstream bound: dial failure 502, first byte
// 504, idle between events and the total ceiling end a stream with an error
// event. It counts goroutines, so it does not run in parallel with other
// tests; its cases run in parallel with each other.
func TestTimeouts(t *testing.T) {
	e := start(t, []upstreamSpec{
		{Name: "dead", URL: deadURL(t)},
		{Name: "fb", Sim: &sim.Options{}, Timeouts: "first_byte: 300ms"},
		{Name: "idle", Sim: &sim.Options{}, Timeouts: "idle: 300ms"},
		{Name: "total", Sim: &sim.Options{}, Timeouts: "total: 500ms"},
	}, []routeSpec{
		simRoute("r-dead", "m-dead", "dead", ""),
		simRoute("r-fb", "m-fb", "fb", ""),
		simRoute("r-idle", "m-idle", "idle", ""),
		simRoute("r-total", "m-total", "total", ""),
	}, "")
	client, tr := newClient()
	base := runtimeGoroutines()
	tests := []timeoutCase{
		{"dial failure", chatBody("m-dead", false, ""), 502, "upstream_unreachable", false, time.Second},
		{"dial failure, streaming", chatBody("m-dead", true, ""), 502, "upstream_unreachable", false, time.Second},
		{"first byte", chatBody("m-fb", false, `,"x_sim":{"hang":true}`), 504, "upstream_timeout", false, 2 * time.Second},
		{"first byte, streaming", chatBody("m-fb", true, `,"x_sim":{"hang":true}`), 504, "upstream_timeout", false, 2 * time.Second},
		{"idle between events", chatBody("m-idle", true, `,"x_sim":{"tps":2,"events":20}`), 200, "upstream_timeout", true, 2 * time.Second},
		{"total ceiling, streaming", chatBody("m-total", true, `,"x_sim":{"tps":4,"events":40}`), 200, "upstream_timeout", true, 2 * time.Second},
		{"total ceiling", chatBody("m-total", false, `,"x_sim":{"hang":true}`), 504, "upstream_timeout", false, 2 * time.Second},
	}
	before := e.requestsOfClass("5xx")
	t.Run("cases", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				t.Parallel()
				runTimeoutCase(t, e, client, tc)
			})
		}
	})
	// Five answers were 5xx; the two streams that had begun stay 200 in
	// the record, with the error in their outcome.
	if got := e.requestsOfClass("5xx") - before; got != 5 {
		t.Errorf("5xx count grew by %v, want 5: %+v", got, e.records())
	}
	settleGoroutines(t, base, 2, tr)
}

func runTimeoutCase(t *testing.T, e *env, client *http.Client, tc timeoutCase) {
	begin := time.Now()
	resp, err := client.Do(e.newRequest("/v1/chat/completions", tc.body))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > tc.max {
		t.Errorf("took %v, want under %v", d, tc.max)
	}
	if resp.StatusCode != tc.status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
	}
	if tc.stream {
		checkBrokenStream(t, body)
		events := sseEvents(body)
		if last := events[len(events)-1]; !strings.Contains(last, `"code":"`+tc.code+`"`) {
			t.Errorf("terminal event %s, want code %s", last, tc.code)
		}
	} else {
		checkAPIError(t, resp, body, tc.status, tc.code)
	}
	rec := e.record(resp.Header.Get("X-Request-Id"))
	if rec.ErrorCode != tc.code {
		t.Errorf("record error code %q, want %q", rec.ErrorCode, tc.code)
	}
}

// TestClientDisconnect checks that a client that goes away cancels the
// upstream within a second and leaves a 499 record. It does not run in
// parallel because it counts goroutines.
func TestClientDisconnect(t *testing.T) {
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	s := e.sims["sim"]
	client, tr := newClient()
	warm(t, e, client)
	tr.CloseIdleConnections()
	base := runtimeGoroutines()
	tests := []struct {
		desc      string
		body      string
		readFirst bool // wait for the first event before cancelling
	}{
		{"streaming, upstream hangs", chatBody("deepseek-chat", true, `,"x_sim":{"hang":true}`), false},
		{"streaming, slow tokens", chatBody("deepseek-chat", true, `,"x_sim":{"tps":2,"events":50}`), true},
		{"non-streaming, upstream hangs", chatBody("deepseek-chat", false, `,"x_sim":{"hang":true}`), false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s.Reset()
			before := e.requestsOfClass("499")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rctx, rcancel := context.WithCancel(ctx)
			req := e.newRequest("/v1/chat/completions", tc.body).WithContext(rctx)
			type result struct {
				resp *http.Response
				err  error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := client.Do(req)
				got <- result{resp, err}
			}()
			if err := s.WaitRequests(ctx, 1); err != nil {
				t.Fatalf("the simulator got no request: %v", err)
			}
			var id string
			if tc.readFirst {
				r := <-got
				if r.err != nil {
					t.Fatal(r.err)
				}
				id = r.resp.Header.Get("X-Request-Id")
				buf := make([]byte, 16)
				if _, err := io.ReadFull(r.resp.Body, buf); err != nil {
					t.Fatalf("first bytes: %v", err)
				}
				defer r.resp.Body.Close()
			}
			cancelled := time.Now()
			rcancel()
			rec := s.Requests()[0]
			if err := rec.Wait(ctx); err != nil {
				t.Fatal("the upstream request did not end")
			}
			if !rec.Cancelled {
				t.Fatal("the upstream request was not cancelled")
			}
			if d := rec.CancelledAt.Sub(cancelled); d > time.Second {
				t.Errorf("upstream cancelled %v after the client left, want under 1s", d)
			}
			if !tc.readFirst {
				if r := <-got; r.err == nil {
					r.resp.Body.Close()
					t.Fatalf("request succeeded with %d", r.resp.StatusCode)
				}
				id = rec.Header.Get("X-Request-Id")
			}
			if r := e.record(id); r.Status != 499 || r.Outcome != "client_closed" {
				t.Errorf("record status %d outcome %q, want 499 client_closed", r.Status, r.Outcome)
			}
			e.waitClassGrows("499", before)
		})
	}
	settleGoroutines(t, base, 2, tr)
}

// warm sends one request so that the connections a test reuses exist
// before it takes its goroutine baseline.
func warm(t *testing.T, e *env, client *http.Client) {
	t.Helper()
	resp, err := client.Do(e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", true, "")))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	e.record(resp.Header.Get("X-Request-Id"))
}

// TestMidStreamDrop checks that an upstream that drops in the middle of a
// stream gives the SDK an error and the raw stream a terminal error event,
// never a [DONE]. It counts goroutines, so it does not run in parallel.
func TestMidStreamDrop(t *testing.T) {
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	client, tr := newClient()
	warm(t, e, client)
	tr.CloseIdleConnections()
	base := runtimeGoroutines()
	drop := option.WithJSONSet("x_sim", map[string]any{"drop_after": 3})

	sdk := openai.NewClient(option.WithBaseURL(e.base+"/v1"), option.WithAPIKey(testKey),
		option.WithMaxRetries(0), option.WithHTTPClient(client))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := sdk.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:    "deepseek-chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}, drop)
	n := 0
	for stream.Next() {
		n++
	}
	if stream.Err() == nil {
		t.Errorf("the SDK saw a clean end after %d chunks", n)
	}
	stream.Close()

	before := e.requestsOfClass("2xx")
	resp, err := client.Do(e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", true, `,"x_sim":{"drop_after":3}`)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	checkBrokenStream(t, body)
	if n := len(sseEvents(body)); n != 4 {
		t.Errorf("%d events, want the 3 sent and the error", n)
	}
	rec := e.record(resp.Header.Get("X-Request-Id"))
	if rec.Outcome != "upstream_error" || rec.ErrorCode != "upstream_stream_broken" {
		t.Errorf("record outcome %q code %q", rec.Outcome, rec.ErrorCode)
	}
	e.waitClassGrows("2xx", before)
	if got := metric(e.metrics(), "rampart_upstream_errors_total", `code="upstream_stream_broken"`); got < 2 {
		t.Errorf("upstream error metric %v, want 2", got)
	}
	settleGoroutines(t, base, 2, tr)
}

// TestHeartbeat checks that the gateway keeps a silent stream alive with
// SSE comments while the model has not sent its first token.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim", Extra: "    heartbeat: 200ms\n"}}, "")
	resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", true, `,"x_sim":{"ttft":"1s"}`))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	s := string(body)
	first := strings.Index(s, "data: ")
	if first < 0 {
		t.Fatalf("no data event: %q", s)
	}
	if n := strings.Count(s[:first], ": keep-alive\n\n"); n < 2 {
		t.Errorf("%d heartbeats before the first event, want at least 2: %q", n, s[:first])
	}
	if !strings.HasSuffix(s, "data: [DONE]\n\n") {
		t.Errorf("the stream did not end with [DONE]")
	}
}
