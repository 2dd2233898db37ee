package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const reasonerMsg = `"model":"deepseek-reasoner","messages":[{"role":"user","content":"hi"}]`

func TestStatusKnob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc, flavor, body string
		hdr                map[string]string
		status             int
		retryAfter         string
		wantInBody         string
	}{
		{"body 429 with retry_after, deepseek", FlavorDeepSeek, `{` + reasonerMsg + `,"x_sim":{"status":429,"retry_after":7}}`, nil, 429, "7", `"type":"rate_limit_error"`},
		{"header 503, vllm", FlavorVLLM, `{` + reasonerMsg + `}`, map[string]string{"X-Sim-Status": "503"}, 503, "", `"object":"error"`},
		{"body wins over header", FlavorDeepSeek, `{` + reasonerMsg + `,"x_sim":{"status":500}}`, map[string]string{"X-Sim-Status": "503", "X-Sim-Retry-After": "2"}, 500, "2", `"type":"server_error"`},
		{"ollama 500", FlavorOllama, `{` + reasonerMsg + `,"x_sim":{"status":500}}`, nil, 500, "", `"code":null`},
		{"status on models via header", FlavorDeepSeek, "", map[string]string{"X-Sim-Status": "502"}, 502, "", `"error"`},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			s, ts := startSim(t, Options{Flavor: c.flavor})
			var resp *http.Response
			if c.body == "" {
				req, _ := http.NewRequestWithContext(testCtx(t), http.MethodGet, ts.URL+"/v1/models", nil)
				for k, v := range c.hdr {
					req.Header.Set(k, v)
				}
				var err error
				if resp, err = http.DefaultClient.Do(req); err != nil {
					t.Fatal(err)
				}
			} else {
				resp = post(testCtx(t), t, ts.URL+"/v1/chat/completions", c.body, c.hdr)
			}
			raw, _ := readAll(t, resp)
			if resp.StatusCode != c.status || resp.Header.Get("Retry-After") != c.retryAfter {
				t.Errorf("got %d Retry-After %q, want %d %q", resp.StatusCode, resp.Header.Get("Retry-After"), c.status, c.retryAfter)
			}
			if !strings.Contains(string(raw), c.wantInBody) || !json.Valid(raw) {
				t.Errorf("body %s lacks %s", raw, c.wantInBody)
			}
			recs := s.Requests()
			if len(recs) != 1 {
				t.Fatalf("recorded %d requests, want 1", len(recs))
			}
			<-recs[0].Done
			if recs[0].Status != c.status {
				t.Errorf("recorded status %d", recs[0].Status)
			}
		})
	}
}

func TestDropAfter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc, body string
		hdr        map[string]string
		wantEvents int
	}{
		{"body knob", `{` + reasonerMsg + `,"stream":true,"x_sim":{"drop_after":3}}`, nil, 3},
		{"header knob", `{` + reasonerMsg + `,"stream":true}`, map[string]string{"X-Sim-Drop-After": "5"}, 5},
		{"zero drops before any event", `{` + reasonerMsg + `,"stream":true,"x_sim":{"drop_after":0}}`, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, Options{})
			resp := post(testCtx(t), t, ts.URL+"/v1/chat/completions", c.body, c.hdr)
			raw, err := readAll(t, resp)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("want a truncated body (unexpected EOF), got %v", err)
			}
			evs := sseEvents(t, raw)
			if len(evs) != c.wantEvents || strings.Contains(string(raw), "[DONE]") {
				t.Errorf("got %d events (want %d), [DONE] present=%v", len(evs), c.wantEvents, strings.Contains(string(raw), "[DONE]"))
			}
		})
	}
	t.Run("non-streaming sends half a body", func(t *testing.T) {
		t.Parallel()
		_, ts := startSim(t, Options{})
		resp := post(testCtx(t), t, ts.URL+"/v1/chat/completions", `{`+reasonerMsg+`,"x_sim":{"drop_after":1}}`, nil)
		raw, err := readAll(t, resp)
		if !errors.Is(err, io.ErrUnexpectedEOF) || json.Valid(raw) || len(raw) == 0 {
			t.Errorf("want a truncated JSON body, got %d bytes, err %v", len(raw), err)
		}
	})
}

func TestHangEndsWhenClientCancels(t *testing.T) {
	t.Parallel()
	for _, via := range []string{"body", "header"} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			s, ts := startSim(t, Options{})
			ctx, cancel := context.WithCancel(testCtx(t))
			body, hdr := `{`+reasonerMsg+`,"x_sim":{"hang":true}}`, map[string]string(nil)
			if via == "header" {
				body, hdr = `{`+reasonerMsg+`}`, map[string]string{"X-Sim-Hang": "true"}
			}
			errc := make(chan error, 1)
			go func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/v1/chat/completions", strings.NewReader(body))
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					_ = resp.Body.Close()
				}
				errc <- err
			}()
			if err := s.WaitRequests(testCtx(t), 1); err != nil {
				t.Fatal(err)
			}
			rec := s.Requests()[0]
			select {
			case <-rec.Done:
				t.Fatal("hanging request finished before the client left")
			case <-time.After(50 * time.Millisecond):
			}
			before := time.Now()
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("client error %v", err)
			}
			if err := rec.Wait(testCtx(t)); err != nil {
				t.Fatal("handler did not return after the client left")
			}
			if !rec.Cancelled || rec.CancelledAt.Before(before) || rec.Status != 0 {
				t.Errorf("record: cancelled=%v at %v (cancel at %v), status %d", rec.Cancelled, rec.CancelledAt, before, rec.Status)
			}
		})
	}
}

func TestCompletedRequestIsNotCancelled(t *testing.T) {
	t.Parallel()
	s, ts := startSim(t, Options{})
	if _, err := readAll(t, post(testCtx(t), t, ts.URL+"/v1/chat/completions", `{`+reasonerMsg+`}`, nil)); err != nil {
		t.Fatal(err)
	}
	rec := s.Requests()[0]
	if err := rec.Wait(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if rec.Cancelled || rec.Status != 200 || !strings.Contains(string(rec.Body), "deepseek-reasoner") || rec.Header.Get("Content-Type") != "application/json" {
		t.Errorf("record %+v", rec)
	}
}

func TestDelays(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc, body string
		hdr        map[string]string
		opts       Options
		// minHeaders is the least time before response headers; minTotal
		// before the body ends.
		minHeaders, minTotal time.Duration
		keepAlives           bool
	}{
		{"slow_headers body", `{` + reasonerMsg + `,"x_sim":{"slow_headers":"150ms"}}`, nil, Options{}, 150 * time.Millisecond, 150 * time.Millisecond, false},
		{"slow_headers header", `{` + reasonerMsg + `,"stream":true}`, map[string]string{"X-Sim-Slow-Headers": "0.15"}, Options{}, 150 * time.Millisecond, 150 * time.Millisecond, false},
		{"ttft streams headers first", `{` + reasonerMsg + `,"stream":true,"x_sim":{"ttft":"200ms"}}`, nil, Options{}, 0, 200 * time.Millisecond, false},
		{"ttft header", `{` + reasonerMsg + `,"stream":true}`, map[string]string{"X-Sim-TTFT": "200ms"}, Options{}, 0, 200 * time.Millisecond, false},
		{"tps paces tokens", `{` + reasonerMsg + `,"stream":true,"x_sim":{"tps":100,"events":20}}`, nil, Options{}, 0, 190 * time.Millisecond, false},
		{"keep-alive while waiting", `{` + reasonerMsg + `,"stream":true}`, nil, Options{TTFT: 200 * time.Millisecond, KeepAlive: 40 * time.Millisecond}, 0, 200 * time.Millisecond, true},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, c.opts)
			start := time.Now()
			resp := post(testCtx(t), t, ts.URL+"/v1/chat/completions", c.body, c.hdr)
			headers := time.Since(start)
			raw, err := readAll(t, resp)
			total := time.Since(start)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d err %v", resp.StatusCode, err)
			}
			if headers < c.minHeaders || total < c.minTotal {
				t.Errorf("headers after %v (min %v), body after %v (min %v)", headers, c.minHeaders, total, c.minTotal)
			}
			if c.minHeaders == 0 && c.minTotal > 0 && headers > c.minTotal/2 {
				t.Errorf("stream headers took %v; they should come before the first token", headers)
			}
			if got := strings.Count(string(raw), ": keep-alive\n\n"); c.keepAlives != (got >= 2) {
				t.Errorf("%d keep-alive comments", got)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc, flavor, path, body string
		status                   int
		wantInBody               string
	}{
		{"invalid JSON", FlavorDeepSeek, "/v1/chat/completions", `{"model":`, 400, `"invalid_request_error"`},
		{"missing model", FlavorDeepSeek, "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, 400, "model"},
		{"missing messages", FlavorVLLM, "/v1/chat/completions", `{"model":"deepseek-reasoner"}`, 400, `"BadRequestError"`},
		{"empty messages", FlavorVLLM, "/v1/chat/completions", `{"model":"deepseek-reasoner","messages":[]}`, 400, "messages"},
		{"bad role", FlavorDeepSeek, "/v1/chat/completions", `{"model":"deepseek-reasoner","messages":[{"role":"bot","content":"x"}]}`, 400, "role"},
		{"duplicate key", FlavorDeepSeek, "/v1/chat/completions", `{"model":"deepseek-chat","model":"deepseek-reasoner","messages":[{"role":"user","content":"x"}]}`, 400, "invalid"},
		{"zero max_tokens", FlavorDeepSeek, "/v1/chat/completions", `{` + reasonerMsg + `,"max_tokens":0}`, 400, "max_tokens"},
		{"unknown model deepseek", FlavorDeepSeek, "/v1/chat/completions", `{"model":"gpt-4","messages":[{"role":"user","content":"x"}]}`, 404, `"code":"model_not_found"`},
		{"unknown model vllm", FlavorVLLM, "/v1/chat/completions", `{"model":"gpt-4","messages":[{"role":"user","content":"x"}]}`, 404, `"NotFoundError"`},
		{"unknown model ollama", FlavorOllama, "/v1/chat/completions", `{"model":"gpt-4","messages":[{"role":"user","content":"x"}]}`, 404, "try pulling it first"},
		{"reasoning_content in history, deepseek", FlavorDeepSeek, "/v1/chat/completions", `{"model":"deepseek-reasoner","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","reasoning_content":"c"},{"role":"user","content":"d"}]}`, 400, `{"error":{"message":"The reasoning_content is an intermediate result`},
		{"reasoning_content accepted by vllm", FlavorVLLM, "/v1/chat/completions", `{"model":"deepseek-reasoner","messages":[{"role":"assistant","content":"b","reasoning_content":"c"},{"role":"user","content":"d"}]}`, 200, "chat.completion"},
		{"negative knob", FlavorDeepSeek, "/v1/chat/completions", `{` + reasonerMsg + `,"x_sim":{"events":-1}}`, 400, "events"},
		{"unknown path", FlavorDeepSeek, "/v1/nothing", `{}`, 404, "error"},
		{"wrong method", FlavorDeepSeek, "/v1/models", `{}`, 405, "error"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, Options{Flavor: c.flavor})
			resp := post(testCtx(t), t, ts.URL+c.path, c.body, nil)
			raw, _ := readAll(t, resp)
			if resp.StatusCode != c.status || !strings.Contains(string(raw), c.wantInBody) {
				t.Errorf("got %d %s, want %d with %s", resp.StatusCode, raw, c.status, c.wantInBody)
			}
		})
	}
}

func TestMaxTokens(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc, flavor, model string
		maxTokens           int
		wantCompletion      int
		wantFinish          string
	}{
		{"deepseek limits the answer only", FlavorDeepSeek, "deepseek-reasoner", 3, 8, "length"},
		{"vllm counts reasoning too", FlavorVLLM, "deepseek-reasoner", 3, 3, "length"},
		{"chat model", FlavorOllama, "deepseek-chat", 2, 2, "length"},
		{"limit above length", FlavorVLLM, "deepseek-chat", 100, 6, "stop"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, Options{Flavor: c.flavor, ReasoningTokens: 5, AnswerTokens: 6})
			for _, stream := range []bool{false, true} {
				body := `{"model":"` + c.model + `","messages":[{"role":"user","content":"x"}],"max_tokens":` + itoa(c.maxTokens) + `,"stream":` + map[bool]string{true: "true", false: "false"}[stream] + `,"stream_options":{"include_usage":true}}`
				resp := post(testCtx(t), t, ts.URL+"/v1/chat/completions", body, nil)
				raw, _ := readAll(t, resp)
				var got, finish string
				var n int
				if stream {
					st := parseStream(t, raw)
					finish, n = st.finish, st.usage.CompletionTokens
				} else {
					var cb completionBody
					if err := json.Unmarshal(raw, &cb); err != nil {
						t.Fatal(err)
					}
					finish, n = cb.Choices[0].FinishReason, cb.Usage.CompletionTokens
				}
				got = finish
				if got != c.wantFinish || n != c.wantCompletion {
					t.Errorf("stream=%v: finish %q with %d tokens, want %q with %d", stream, got, n, c.wantFinish, c.wantCompletion)
				}
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestAPIKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc, flavor, auth string
		status             int
		wantInBody         string
	}{
		{"right key", FlavorDeepSeek, "Bearer sk-test", 200, "chat.completion"},
		{"wrong key deepseek", FlavorDeepSeek, "Bearer sk-nope", 401, `"authentication_error"`},
		{"missing key vllm", FlavorVLLM, "", 401, `"code":401`},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, Options{Flavor: c.flavor, APIKey: "sk-test"})
			hdr := map[string]string{}
			if c.auth != "" {
				hdr["Authorization"] = c.auth
			}
			resp := post(testCtx(t), t, ts.URL+"/v1/chat/completions", `{`+reasonerMsg+`}`, hdr)
			raw, _ := readAll(t, resp)
			if resp.StatusCode != c.status || !strings.Contains(string(raw), c.wantInBody) {
				t.Errorf("got %d %s", resp.StatusCode, raw)
			}
			if strings.Contains(string(raw), "sk-") {
				t.Errorf("error echoes the key: %s", raw)
			}
		})
	}
}

func TestEventsKnob(t *testing.T) {
	t.Parallel()
	_, ts := startSim(t, Options{Flavor: FlavorVLLM})
	resp := post(testCtx(t), t, ts.URL+"/v1/chat/completions", `{`+reasonerMsg+`,"stream":true,"x_sim":{"events":200}}`, nil)
	raw, _ := readAll(t, resp)
	content := 0
	for _, c := range parseStream(t, raw).chunks {
		if len(c.Choices) > 0 && c.Choices[0].FinishReason == nil {
			if s, _ := c.Choices[0].Delta["content"].(string); s != "" {
				content++
			}
			if _, ok := c.Choices[0].Delta["reasoning_content"]; ok {
				t.Fatal("events implies no reasoning")
			}
		}
	}
	if content != 200 {
		t.Errorf("%d content events, want 200", content)
	}
}

func TestLiteralTextKnobs(t *testing.T) {
	t.Parallel()
	_, ts := startSim(t, Options{Flavor: FlavorDeepSeek})
	resp := post(testCtx(t), t, ts.URL+"/v1/chat/completions", `{`+reasonerMsg+`,"stream":true,"x_sim":{"answer":"my card is 4111 1111","reasoning":"secret plan"}}`, nil)
	raw, _ := readAll(t, resp)
	st := parseStream(t, raw)
	if st.content != "my card is 4111 1111" || st.reasoning != "secret plan" {
		t.Errorf("got %q / %q", st.reasoning, st.content)
	}
	if st.usage.CompletionTokens != 7 {
		t.Errorf("completion tokens %d, want 7", st.usage.CompletionTokens)
	}
}

func TestClientLeavesMidStream(t *testing.T) {
	t.Parallel()
	s, ts := startSim(t, Options{})
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	resp := post(ctx, t, ts.URL+"/v1/chat/completions", `{`+reasonerMsg+`,"stream":true,"x_sim":{"tps":50,"events":500}}`, nil)
	buf := make([]byte, 64)
	if _, err := io.ReadAtLeast(resp.Body, buf, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	rec := s.Requests()[0]
	if err := rec.Wait(testCtx(t)); err != nil {
		t.Fatal("stream did not stop after the client left")
	}
	if !rec.Cancelled || rec.Status != http.StatusOK {
		t.Errorf("record: cancelled=%v status=%d", rec.Cancelled, rec.Status)
	}
}
