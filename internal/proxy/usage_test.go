package proxy_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rampart-gw/rampart/internal/auth"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/route"
	"github.com/rampart-gw/rampart/internal/sim"
	"github.com/rampart-gw/rampart/internal/tokenizer"
	"github.com/rampart-gw/rampart/internal/upstream"
)

// TestStreamUsage checks the usage a stream's record holds: the upstream's
// when it reports one, and otherwise (the stream broke before its usage
// chunk) the completion and reasoning tokens relayed, counted with the
// model's tokenizer.
func TestStreamUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		knobs string
		// broken: the upstream drops the stream before its end.
		broken bool
	}{
		{name: "whole", knobs: `{"reasoning":"alpha beta gamma","answer":"one two three four five"}`},
		{name: "broken", knobs: `{"reasoning":"alpha beta gamma","answer":"one two three four five","drop_after":5}`, broken: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got *record.Record
			done := make(chan struct{})
			sink := sinkFunc(func(r *record.Record) {
				mu.Lock()
				got = r
				mu.Unlock()
				close(done)
			})
			srv := serveReasoner(t, sink)
			req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(
				`{"model":"deepseek-reasoner","stream":true,"messages":[{"role":"user","content":"hi"}],"x_sim":`+tc.knobs+`}`))
			req.Header.Set("Authorization", "Bearer "+benchKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			<-done
			mu.Lock()
			defer mu.Unlock()

			// What the client received, counted as the relay counts it.
			est := tokenizer.Heuristic{}
			produced, reasoning := 0, 0
			for _, line := range strings.Split(string(body), "\n") {
				data, ok := strings.CutPrefix(line, "data: ")
				if !ok || data == "[DONE]" {
					continue
				}
				var c struct {
					Choices []struct {
						Delta struct {
							Content          string `json:"content"`
							ReasoningContent string `json:"reasoning_content"`
						} `json:"delta"`
					} `json:"choices"`
				}
				if json.Unmarshal([]byte(data), &c) != nil {
					continue
				}
				for _, ch := range c.Choices {
					r := est.Count(ch.Delta.ReasoningContent)
					reasoning += r
					produced += r + est.Count(ch.Delta.Content)
				}
			}
			if produced == 0 {
				t.Fatalf("no tokens relayed: %q", body)
			}
			u := got.Usage
			if !tc.broken {
				// The simulator's own usage: the prompt counted too.
				if u.PromptTokens == 0 || u.CompletionTokens == 0 {
					t.Fatalf("usage %+v, want the upstream's", u)
				}
				return
			}
			if got.ErrorCode != "upstream_stream_broken" {
				t.Fatalf("error code %q, want upstream_stream_broken: %q", got.ErrorCode, body)
			}
			want := record.Usage{CompletionTokens: produced, ReasoningTokens: reasoning, TotalTokens: produced}
			if u != want || reasoning == 0 {
				t.Errorf("usage %+v, want %+v (the tokens relayed, reasoning included)", u, want)
			}
		})
	}
}

// serveReasoner runs the request path in front of a simulator that
// reasons, for deepseek-reasoner, with the records going to sink.
func serveReasoner(t *testing.T, sink proxy.Sink) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(sim.New(sim.Options{}))
	t.Cleanup(up.Close)
	yaml := "upstreams: {sim: {url: " + up.URL + "/v1, flavor: deepseek}}\n" +
		"routes: [{name: r, models: [deepseek-reasoner], upstreams: [sim]}]\n" +
		"auth: {api_keys: false, static_keys: [{name: t, key: " + benchKey + "}]}\n"
	cfg, err := config.Parse([]byte(yaml), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(config.FormatErrors(err))
	}
	log := slog.New(slog.DiscardHandler)
	c, _ := upstream.New("sim", cfg.Upstreams["sim"], log)
	table, _ := route.Build(cfg, map[string]*upstream.Client{"sim": c})
	authn, _ := auth.New(cfg.Auth, nil, log)
	ipr, _ := proxy.NewClientIPResolver(nil)
	srv := httptest.NewServer(proxy.New(&proxy.Snapshot{
		Routes: table, Auth: authn, ClientIP: ipr, Log: log, Decode: openai.Limits{MaxDepth: 64},
		Limits: proxy.Limits{MaxBodyBytes: 1 << 20, MaxInFlight: 100},
		Sinks:  []proxy.Sink{sink},
	}))
	t.Cleanup(srv.Close)
	return srv
}
