package proxy_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rampart-gw/rampart/internal/auth"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/route"
	"github.com/rampart-gw/rampart/internal/sim"
	"github.com/rampart-gw/rampart/internal/upstream"
)

const benchKey = "rk-bench-0123456789abcdefghijklmnopqrstuvwxyz"

// newBenchHandler builds the request path in front of a zero-latency
// simulator on loopback, with no guards: the core path alone.
func newBenchHandler(b *testing.B) *proxy.Handler {
	b.Helper()
	srv := httptest.NewServer(sim.New(sim.Options{MaxRecorded: -1}))
	b.Cleanup(srv.Close)
	yaml := "upstreams: {sim: {url: " + srv.URL + "/v1, flavor: deepseek}}\n" +
		"routes: [{name: r, models: [deepseek-chat], upstreams: [sim]}]\n" +
		"auth: {api_keys: false, static_keys: [{name: bench, key: " + benchKey + "}]}\n"
	cfg, err := config.Parse([]byte(yaml), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(config.FormatErrors(err))
	}
	log := slog.New(slog.DiscardHandler)
	c, err := upstream.New("sim", cfg.Upstreams["sim"], log)
	if err != nil {
		b.Fatal(err)
	}
	table, err := route.Build(cfg, map[string]*upstream.Client{"sim": c})
	if err != nil {
		b.Fatal(err)
	}
	authn, err := auth.New(cfg.Auth, nil, log)
	if err != nil {
		b.Fatal(err)
	}
	ipr, _ := proxy.NewClientIPResolver(nil)
	l := cfg.Listen
	return proxy.New(&proxy.Snapshot{
		Routes: table, Auth: authn, ClientIP: ipr, Log: log, Decode: openai.Limits{MaxDepth: 64},
		Limits: proxy.Limits{MaxBodyBytes: l.MaxBodyBytes, MaxHeaderCount: l.MaxHeaderCount, MaxInFlight: 1 << 20},
	})
}

// chatBody2K is a 2 KB chat request, as in the load benchmark.
func chatBody2K(stream bool, extra string) []byte {
	filler := strings.Repeat("lorem ipsum dolor sit amet ", 70)
	s := `{"model":"deepseek-chat","stream":` + map[bool]string{true: "true", false: "false"}[stream] +
		`,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"` + filler + `"}]` + extra + `}`
	return []byte(s)
}

type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(s int)           { d.status = s }
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discardWriter) Flush()                      {}

func benchmarkPath(b *testing.B, body []byte) {
	h := newBenchHandler(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+benchKey)
		req.Header.Set("Content-Type", "application/json")
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkChatNonStream is one non-streaming 2 KB chat request through the
// core path (the upstream call over loopback included).
func BenchmarkChatNonStream(b *testing.B) { benchmarkPath(b, chatBody2K(false, "")) }

// BenchmarkChatStream200 is one streaming request of 200 events.
func BenchmarkChatStream200(b *testing.B) {
	benchmarkPath(b, chatBody2K(true, `,"x_sim":{"events":200,"reasoning_tokens":0}`))
}
