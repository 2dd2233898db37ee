package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rampart-gw/rampart/internal/sim"
	"github.com/rs/zerolog"
)

// faultProxy is a toxiproxy proxy, in process on loopback, in front of a
// simulator.
type faultProxy struct {
	*toxiproxy.Proxy
	sim *sim.Server
}

// newFaultProxy starts a simulator and a toxiproxy proxy in front of it;
// both stop with the test.
func newFaultProxy(t *testing.T) *faultProxy {
	t.Helper()
	s := sim.New(sim.Options{Seed: 7})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &faultProxy{Proxy: newToxiproxy(t, "sim", srv.Listener.Addr().String()), sim: s}
}

// newToxiproxy starts a toxiproxy proxy, on a loopback port, to target; it
// stops with the test.
func newToxiproxy(t *testing.T, name, target string) *toxiproxy.Proxy {
	t.Helper()
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(server, name, "127.0.0.1:0", target)
	if err := p.Start(); err != nil {
		t.Fatalf("toxiproxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return p
}

// url is the upstream URL through the proxy.
func (p *faultProxy) url() string { return "http://" + p.Listen + "/v1" }

// addToxic adds a toxic to one direction of p: "upstream" is what the
// proxy's client sends (requests), "downstream" what it receives (answers).
func addToxic(t *testing.T, p *toxiproxy.Proxy, direction, typ, attributes string) {
	t.Helper()
	body := `{"name":"` + typ + `-` + direction + `","type":"` + typ + `","stream":"` + direction + `","attributes":` + attributes + `}`
	if _, err := p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
		t.Fatalf("toxic %s: %v", body, err)
	}
}

// want is the expected answer of one request.
type want struct {
	status int
	code   string // error code: of the JSON error, or of the terminal SSE event
	broken bool   // a 200 stream that ends with a terminal error event
}

// toxicCase is one fault between the gateway and the simulator.
type toxicCase struct {
	name       string
	toxic      string // toxic type; empty: none
	attributes string
	// direction is the toxiproxy stream the toxic is on: "downstream" (the
	// default) is the simulator's answer, "upstream" the gateway's request.
	direction string
	pad       int    // bytes of padding in each request body
	down      bool   // the proxy is disabled before the requests
	timeouts  string // the upstream's timeouts
	knobs     string // x_sim of both requests
	plain     want
	stream    want
	minTime   time.Duration // each request takes at least this long
	// metric, with its labels, must grow by 2 (one per request).
	metric []string
	// whole: the simulator must have received the whole body of both
	// requests; otherwise it must have received neither whole.
	whole bool
}

// TestToxiproxyFaults puts toxiproxy between the gateway and the simulator
// and checks, for each fault on the answers or on the requests, a
// non-streaming and a streaming request: the status and OpenAI-style error,
// a terminal error event (never [DONE]) for a stream cut after it began,
// exactly one audit record with that status, error code and the tokens
// produced, the metric that counts the outcome, and that no goroutine
// outlives the requests. It counts goroutines, so it does not run in
// parallel with other tests.
func TestToxiproxyFaults(t *testing.T) {
	cases := []toxicCase{
		{name: "latency", toxic: "latency", attributes: `{"latency":200}`,
			plain: want{status: 200}, stream: want{status: 200}, minTime: 200 * time.Millisecond, whole: true,
			metric: []string{"rampart_requests_total", `route="r"`, `code="2xx"`}},
		{name: "reset_peer", toxic: "reset_peer", attributes: `{"timeout":50}`, whole: true,
			plain:  want{status: 502, code: "upstream_error"},
			stream: want{status: 502, code: "upstream_error"},
			metric: []string{"rampart_upstream_errors_total", `upstream="sim"`, `code="upstream_error"`}},
		{name: "timeout", toxic: "timeout", attributes: `{"timeout":0}`, timeouts: "first_byte: 400ms", whole: true,
			plain:  want{status: 504, code: "upstream_timeout"},
			stream: want{status: 504, code: "upstream_timeout"}, minTime: 400 * time.Millisecond,
			metric: []string{"rampart_upstream_errors_total", `upstream="sim"`, `code="upstream_timeout"`}},
		{name: "slicer", toxic: "slicer", attributes: `{"average_size":12,"size_variation":8,"delay":100}`, whole: true,
			plain: want{status: 200}, stream: want{status: 200},
			metric: []string{"rampart_requests_total", `route="r"`, `code="2xx"`}},
		{name: "limit_data", toxic: "limit_data", attributes: `{"bytes":2000}`, whole: true,
			knobs:  `{"answer_tokens":800}`,
			plain:  want{status: 502, code: "upstream_error"},
			stream: want{status: 200, code: "upstream_stream_broken", broken: true},
			metric: []string{"rampart_upstream_errors_total", `upstream="sim"`}},
		{name: "down", down: true,
			plain:  want{status: 502, code: "upstream_unreachable"},
			stream: want{status: 502, code: "upstream_unreachable"},
			metric: []string{"rampart_upstream_errors_total", `upstream="sim"`, `code="upstream_unreachable"`}},

		// The same faults on the request, gateway to simulator.
		{name: "request latency", toxic: "latency", attributes: `{"latency":200}`, direction: "upstream",
			plain: want{status: 200}, stream: want{status: 200}, minTime: 200 * time.Millisecond, whole: true,
			metric: []string{"rampart_requests_total", `route="r"`, `code="2xx"`}},
		// A slow link for the request: a 48 KiB body at 64 KB/s.
		{name: "request bandwidth", toxic: "bandwidth", attributes: `{"rate":64}`, direction: "upstream",
			pad: 48 << 10, plain: want{status: 200}, stream: want{status: 200}, minTime: 500 * time.Millisecond, whole: true,
			metric: []string{"rampart_requests_total", `route="r"`, `code="2xx"`}},
		// The connection is reset while the gateway is still sending a
		// large body.
		{name: "request reset_peer", toxic: "reset_peer", attributes: `{"timeout":20}`, direction: "upstream",
			pad:    2 << 20,
			plain:  want{status: 502, code: "upstream_error"},
			stream: want{status: 502, code: "upstream_error"},
			metric: []string{"rampart_upstream_errors_total", `upstream="sim"`, `code="upstream_error"`}},
		// The proxy passes the first 1000 bytes of the body, then closes.
		{name: "request limit_data", toxic: "limit_data", attributes: `{"bytes":1000}`, direction: "upstream",
			pad:    64 << 10,
			plain:  want{status: 502, code: "upstream_error"},
			stream: want{status: 502, code: "upstream_error"},
			metric: []string{"rampart_upstream_errors_total", `upstream="sim"`, `code="upstream_error"`}},
		// The request never reaches the simulator.
		{name: "request timeout", toxic: "timeout", attributes: `{"timeout":0}`, direction: "upstream",
			timeouts: "first_byte: 400ms",
			plain:    want{status: 504, code: "upstream_timeout"},
			stream:   want{status: 504, code: "upstream_timeout"}, minTime: 400 * time.Millisecond,
			metric: []string{"rampart_upstream_errors_total", `upstream="sim"`, `code="upstream_timeout"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runToxicCase(t, tc) })
	}
	t.Run("down mid-stream", runDownMidStream)
}

func runToxicCase(t *testing.T, tc toxicCase) {
	p := newFaultProxy(t)
	e := start(t, []upstreamSpec{{Name: "sim", URL: p.url(), Timeouts: tc.timeouts}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	client, tr := newClient()
	client.Timeout = 5 * time.Second
	// Read before the baseline, so that it counts the idle connection
	// that reads the metrics.
	before := metric(e.metrics(), tc.metric[0], tc.metric[1:]...)
	base := ownGoroutines()
	if tc.toxic != "" {
		direction := tc.direction
		if direction == "" {
			direction = "downstream"
		}
		addToxic(t, p.Proxy, direction, tc.toxic, tc.attributes)
	}
	if tc.down {
		p.Stop()
	}
	extra := ""
	if tc.knobs != "" {
		extra = `,"x_sim":` + tc.knobs
	}
	if tc.pad > 0 {
		extra += `,"user":"` + strings.Repeat("p", tc.pad) + `"`
	}
	for _, stream := range []bool{false, true} {
		w := tc.plain
		if stream {
			w = tc.stream
		}
		begin := time.Now()
		resp, err := client.Do(e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", stream, extra)))
		if err != nil {
			t.Fatalf("stream=%v: %v", stream, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("stream=%v: reading the answer: %v", stream, err)
		}
		took := time.Since(begin)
		if took < tc.minTime || took > 3*time.Second {
			t.Errorf("stream=%v took %v, want between %v and 3s", stream, took, tc.minTime)
		}
		if resp.StatusCode != w.status {
			t.Fatalf("stream=%v: status %d, want %d: %.300s", stream, resp.StatusCode, w.status, body)
		}
		// One audit record, with the status the client saw, the error
		// code (of the terminal event for a broken stream) and the tokens
		// the answer held.
		e.checkAudit(t, resp.Header.Get("X-Request-Id"), auditWant{status: w.status, code: w.code, tokens: w.status == 200})
		switch {
		case w.status != 200:
			checkAPIError(t, resp, body, w.status, w.code)
		case w.broken:
			checkBrokenStream(t, body)
			events := sseEvents(body)
			if last := events[len(events)-1]; !strings.Contains(last, `"code":"`+w.code+`"`) {
				t.Errorf("terminal event %s, want code %s", last, w.code)
			}
			if len(events) < 2 {
				t.Errorf("the stream was cut before it began: %q", body)
			}
		case stream:
			checkWholeStream(t, body)
		default:
			checkWholeAnswer(t, body)
		}
	}
	// The sink records after the answer is written: poll.
	waitFor(t, 3*time.Second, func() bool {
		return metric(e.metrics(), tc.metric[0], tc.metric[1:]...)-before >= 2
	})
	if got := metric(e.metrics(), tc.metric[0], tc.metric[1:]...) - before; got != 2 {
		t.Errorf("%v grew by %v, want 2", tc.metric, got)
	}
	whole := 0
	for _, r := range p.sim.Requests() {
		if json.Valid(r.Body) {
			whole++
		}
	}
	if want := map[bool]int{true: 2, false: 0}[tc.whole]; whole != want {
		t.Errorf("the simulator received %d whole requests, want %d", whole, want)
	}
	if tc.toxic == "latency" && tc.direction == "" {
		// Both answers waited for the toxic's latency before their first byte.
		if ttft := metric(e.metrics(), "rampart_time_to_first_token_seconds_sum", `route="r"`); ttft < 0.4 {
			t.Errorf("time to first token sums to %vs, want at least 0.4s", ttft)
		}
	}
	// Nothing of the requests may remain once their connections are gone:
	// the proxy's connections close with it (and its accept loop ends).
	p.Toxics.ResetToxics(context.Background())
	p.Stop()
	tr.CloseIdleConnections()
	settleOwnGoroutines(t, base)
}

// runDownMidStream disables the proxy while a stream is under way: the
// client gets the events so far and a terminal error event, and the next
// request a 502; each leaves one audit record.
func runDownMidStream(t *testing.T) {
	p := newFaultProxy(t)
	e := start(t, []upstreamSpec{{Name: "sim", URL: p.url()}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	client, tr := newClient()
	client.Timeout = 5 * time.Second
	broken := metric(e.metrics(), "rampart_upstream_errors_total", `code="upstream_stream_broken"`)
	unreachable := metric(e.metrics(), "rampart_upstream_errors_total", `code="upstream_unreachable"`)
	base := ownGoroutines()

	resp, err := client.Do(e.newRequest("/v1/chat/completions",
		chatBody("deepseek-chat", true, `,"x_sim":{"tps":20,"events":60}`)))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Read up to the first event with answer text, then cut the upstream
	// off. The first event carries the role and an empty content: cutting
	// after it would leave no tokens relayed to count.
	var got strings.Builder
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadString('\n')
		got.WriteString(line)
		if err != nil {
			t.Fatalf("before the cut: %v: %q", err, got.String())
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"content":"`) && !strings.Contains(line, `"content":""`) {
			break
		}
	}
	cut := time.Now()
	p.Stop()
	rest, err := io.ReadAll(r)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("after the cut: %v", err)
	}
	if d := time.Since(cut); d > time.Second {
		t.Errorf("the stream ended %v after the upstream went down", d)
	}
	body := []byte(got.String() + string(rest))
	checkBrokenStream(t, body)
	events := sseEvents(body)
	if last := events[len(events)-1]; !strings.Contains(last, `"code":"upstream_stream_broken"`) {
		t.Errorf("terminal event %s", last)
	}
	e.checkAudit(t, resp.Header.Get("X-Request-Id"), auditWant{status: 200, code: "upstream_stream_broken", tokens: true})

	resp, err = client.Do(e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", false, "")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	checkAPIError(t, resp, b, 502, "upstream_unreachable")
	e.checkAudit(t, resp.Header.Get("X-Request-Id"), auditWant{status: 502, code: "upstream_unreachable"})

	waitFor(t, 3*time.Second, func() bool {
		m := e.metrics()
		return metric(m, "rampart_upstream_errors_total", `code="upstream_stream_broken"`) > broken &&
			metric(m, "rampart_upstream_errors_total", `code="upstream_unreachable"`) > unreachable
	})
	tr.CloseIdleConnections()
	settleOwnGoroutines(t, base)
}

// ownGoroutines counts the goroutines that are not toxiproxy's: a toxic
// removed while it blocks can leave one of toxiproxy's own behind, which
// says nothing of the gateway.
func ownGoroutines() int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.HasPrefix(g, "goroutine ") && !strings.Contains(g, "github.com/Shopify/toxiproxy") {
			n++
		}
	}
	return n
}

// settleOwnGoroutines waits until ownGoroutines is back to base, and fails
// with the stacks when it is not.
func settleOwnGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		n := ownGoroutines()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 4<<20)
			t.Fatalf("goroutines: %d besides toxiproxy's, baseline %d\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkWholeStream checks that a stream arrived whole: chunks with
// content, then [DONE] last.
func checkWholeStream(t *testing.T, body []byte) {
	t.Helper()
	events := sseEvents(body)
	if len(events) < 3 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream not whole: %q", body)
	}
	var content strings.Builder
	for _, ev := range events[:len(events)-1] {
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(ev), &c); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		for _, ch := range c.Choices {
			content.WriteString(ch.Delta.Content)
		}
	}
	if content.Len() == 0 {
		t.Fatalf("no content in %q", body)
	}
}

// checkWholeAnswer checks that a non-streaming answer is a completion with
// content.
func checkWholeAnswer(t *testing.T, body []byte) {
	t.Helper()
	var c struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &c); err != nil || len(c.Choices) != 1 ||
		c.Choices[0].Message.Content == "" || c.Choices[0].FinishReason != "stop" {
		t.Fatalf("not a whole completion (%v): %q", err, body)
	}
}
