package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/sim"
)

// inputLimits are the listener bounds of the input tests: small, so that
// the tests stay fast.
const inputLimits = "max_body_bytes: 1024, max_header_bytes: 1024, max_header_count: 20, body_idle_timeout: 300ms"

// TestRejectedInput sends malformed, oversized and misdirected requests.
// Each must get an OpenAI-style error with a request ID, and none may reach
// the upstream.
func TestRejectedInput(t *testing.T) {
	t.Parallel()
	e := startWith(t, startOpts{Listen: inputLimits},
		[]upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	s := e.sims["sim"]
	t.Cleanup(func() {
		if n := len(s.Requests()); n != 0 {
			t.Errorf("the simulator received %d requests", n)
		}
	})
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	big := chatBody("deepseek-chat", false, `,"pad":"`+strings.Repeat("a", 2000)+`"`)
	tests := []struct {
		desc   string
		method string
		path   string
		body   string
		hdr    map[string]string // "" value: delete the header
		chunk  bool              // send the body chunked, without Content-Length
		status int
		code   string
	}{
		{desc: "invalid JSON", body: `{"model":"deepseek-chat",`, status: 400, code: "invalid_json"},
		{desc: "trailing garbage", body: chatBody("deepseek-chat", false, "") + `x`, status: 400, code: "invalid_json"},
		{desc: "two objects", body: chatBody("deepseek-chat", false, "") + `{}`, status: 400, code: "invalid_json"},
		{desc: "invalid UTF-8", body: `{"model":"deepseek-chat",` + msgs[:len(msgs)-3] + "\xff\xfe\"}]}", status: 400, code: "invalid_utf8"},
		{desc: "nesting depth 100", body: `{"model":"deepseek-chat",` + msgs + `,"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, status: 400, code: "too_deeply_nested"},
		{desc: "duplicate model", body: `{"model":"deepseek-chat","model":"other",` + msgs + `}`, status: 400, code: "duplicate_key"},
		{desc: "case-variant Model", body: `{"model":"deepseek-chat","Model":"other",` + msgs + `}`, status: 400, code: "duplicate_key"},
		{desc: "stream as a string", body: `{"model":"deepseek-chat","stream":"true",` + msgs + `}`, status: 400, code: "invalid_type"},
		{desc: "empty messages", body: `{"model":"deepseek-chat","messages":[]}`, status: 400, code: "invalid_value"},
		{desc: "max_tokens 0", body: `{"model":"deepseek-chat","max_tokens":0,` + msgs + `}`, status: 400, code: "invalid_value"},
		{desc: "empty body", body: ``, status: 400, code: "invalid_json"},
		{desc: "body over the cap", body: big, status: 413, code: "body_too_large"},
		{desc: "chunked body over the cap", body: big, chunk: true, status: 413, code: "body_too_large"},
		{desc: "more headers than max_header_count", body: chatBody("deepseek-chat", false, ""), hdr: manyHeaders(25), status: 431, code: "too_many_headers"},
		{desc: "unknown path", path: "/v1/chat/completion", body: chatBody("deepseek-chat", false, ""), status: 404, code: "not_found"},
		{desc: "GET on chat", method: http.MethodGet, status: 405, code: "method_not_allowed"},
		{desc: "no credential", body: chatBody("deepseek-chat", false, ""), hdr: map[string]string{"Authorization": ""}, status: 401, code: "invalid_api_key"},
		{desc: "wrong credential", body: chatBody("deepseek-chat", false, ""), hdr: map[string]string{"Authorization": "Bearer rk-wrong"}, status: 401, code: "invalid_api_key"},
		{desc: "unknown model", body: chatBody("gpt-nope", false, ""), status: 404, code: "model_not_found"},
		{desc: "admin config on the client listener", method: http.MethodGet, path: "/admin/v1/config", status: 404, code: "not_found"},
		{desc: "admin reload on the client listener", path: "/admin/v1/reload", status: 404, code: "not_found"},
		{desc: "metrics on the client listener", method: http.MethodGet, path: "/metrics", status: 404, code: "not_found"},
		{desc: "healthz on the client listener", method: http.MethodGet, path: "/healthz", status: 404, code: "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			method, path := tc.method, tc.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/v1/chat/completions"
			}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
				if tc.chunk {
					// A reader of unknown length is sent chunked.
					body = io.MultiReader(body)
				}
			}
			req, _ := http.NewRequest(method, e.base+path, body)
			req.Header.Set("Authorization", "Bearer "+testKey)
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.hdr {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			checkAPIError(t, resp, b, tc.status, tc.code)
			if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
			if tc.status == 405 && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q", resp.Header.Get("Allow"))
			}
			if n := len(s.Requests()); n != 0 {
				t.Errorf("the simulator received %d requests", n)
			}
		})
	}
	t.Run("metrics count 4xx", func(t *testing.T) {
		t.Parallel()
		before := e.requestsOfClass("4xx")
		resp, _ := e.post("/v1/chat/completions", "{")
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		e.waitClassGrows("4xx", before)
	})
}

func manyHeaders(n int) map[string]string {
	h := map[string]string{}
	for i := range n {
		h[fmt.Sprintf("X-Filler-%d", i)] = "x"
	}
	return h
}

// TestRawInput covers what an HTTP client library will not send: lying
// Content-Length values and headers over the size cap.
func TestRawInput(t *testing.T) {
	t.Parallel()
	e := startWith(t, startOpts{Listen: inputLimits},
		[]upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	s := e.sims["sim"]
	addr := hostPort(e.base)
	body := chatBody("deepseek-chat", false, "")
	head := "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testKey + "\r\nContent-Type: application/json\r\n"
	tests := []struct {
		desc   string
		raw    string
		status int
		code   string // "": Go's net/http answers itself, not in OpenAI style
		max    time.Duration
		closes bool // the answer closes the connection
	}{
		{
			// The server reads the declared bytes: a truncated JSON text.
			// The rest is read as the next request and rejected by Go.
			desc:   "Content-Length shorter than the body",
			raw:    head + "Content-Length: 10\r\n\r\n" + body,
			status: 400, code: "invalid_json", max: 2 * time.Second,
		},
		{
			// The client promises more than it sends and stalls: the body
			// idle deadline answers 408.
			desc:   "Content-Length longer than the body",
			raw:    head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)+100) + body,
			status: 408, code: "body_timeout", max: 2 * time.Second,
		},
		{
			desc: "chunked body over the cap",
			raw: head + "Transfer-Encoding: chunked\r\n\r\n" + strings.Repeat("200\r\n"+strings.Repeat("a", 0x200)+"\r\n", 3) +
				"0\r\n\r\n",
			status: 413, code: "body_too_large", max: 2 * time.Second,
		},
		{
			// A client that declares too much and sends less: the answer
			// must not wait for the bytes that never come.
			desc:   "Content-Length over the cap",
			raw:    head + "Content-Length: 5000\r\n\r\n" + body,
			status: 413, code: "body_too_large", max: 2 * time.Second,
		},
		{
			// The cap counts fields, not names: one name repeated.
			desc:   "one header name repeated past max_header_count",
			raw:    head + strings.Repeat("X-Same: x\r\n", 25) + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body,
			status: 431, code: "too_many_headers", max: 2 * time.Second,
		},
		{
			// Refusals before the body is read answer at once and close
			// the connection: a client that declares a body and stalls
			// gets its answer (net/http would first read up to 256 KiB of
			// the body, with no deadline).
			desc:   "wrong key, body stalled",
			raw:    strings.Replace(head, testKey, "rk-not-a-key", 1) + "Content-Length: 1000\r\n\r\n{",
			status: 401, code: "invalid_api_key", max: 2 * time.Second, closes: true,
		},
		{
			desc:   "chunked body stalled, wrong key",
			raw:    strings.Replace(head, testKey, "rk-not-a-key", 1) + "Transfer-Encoding: chunked\r\n\r\n10\r\n{",
			status: 401, code: "invalid_api_key", max: 2 * time.Second, closes: true,
		},
		{
			desc:   "unknown path, body stalled",
			raw:    strings.Replace(head, "/v1/chat/completions", "/v1/nothing", 1) + "Content-Length: 1000\r\n\r\n{",
			status: 404, code: "not_found", max: 2 * time.Second, closes: true,
		},
		{
			desc:   "models with a stalled body",
			raw:    strings.Replace(head, "POST /v1/chat/completions", "GET /v1/models", 1) + "Content-Length: 1000\r\n\r\n{",
			status: 200, max: 2 * time.Second, closes: true,
		},
		{
			// Go's server enforces max_header_bytes (plus 4 KiB of slack it
			// always allows) before any handler runs and answers 431 in
			// plain text itself; no request ID exists yet.
			desc:   "headers over max_header_bytes",
			raw:    head + "X-Big: " + strings.Repeat("a", 8<<10) + "\r\nContent-Length: 2\r\n\r\n{}",
			status: 431, max: 2 * time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			begin := time.Now()
			resp, b, err := rawRoundTrip(t, addr, tc.raw, 5*time.Second)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if d := time.Since(begin); d > tc.max {
				t.Errorf("answered after %v", d)
			}
			if tc.code == "" {
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
				}
			} else {
				checkAPIError(t, resp, b, tc.status, tc.code)
			}
			if tc.closes && !resp.Close {
				t.Error("the answer keeps a connection whose body was not read")
			}
			if n := len(s.Requests()); n != 0 {
				t.Errorf("the simulator received %d requests", n)
			}
		})
	}
}
