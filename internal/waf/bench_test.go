package waf

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// reportCPU adds the process CPU time per operation to a benchmark: on a
// shared machine it is steadier than wall time, and the stage's budget is
// stated in CPU.
func reportCPU(b *testing.B, run func()) {
	b.Helper()
	b.ReportAllocs()
	start, ok := processCPU()
	b.ResetTimer()
	run()
	b.StopTimer()
	if end, ok2 := processCPU(); ok && ok2 {
		b.ReportMetric(float64((end-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

// chatBody is a chat request whose user message is n bytes of prose with a
// pasted query, the shape the gateway sees most.
func chatBody(n int) []byte {
	unit := "Please review this query and explain the join: SELECT o.id, c.name FROM orders o JOIN customers c ON o.customer_id = c.id WHERE c.country = 'FR'. "
	text := strings.Repeat(unit, n/len(unit)+1)[:n]
	return fmt.Appendf(nil, `{"model":"deepseek-chat","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":%q}],"temperature":0.7,"stream":true}`, text)
}

// chatRequest is a request with the headers the official Python SDK sends.
func chatRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Host = "gateway.internal:8080"
	r.RemoteAddr = "10.1.2.3:51234"
	h := r.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("Authorization", "Bearer sk-0123456789abcdef0123456789abcdef")
	h.Set("User-Agent", "OpenAI/Python 1.99.0")
	h.Set("X-Stainless-Lang", "python")
	h.Set("X-Stainless-Package-Version", "1.99.0")
	h.Set("X-Stainless-Runtime", "CPython")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	return r
}

func benchInspect(b *testing.B, w *WAF, r *http.Request, body []byte, scope, known string) {
	ctx := context.Background()
	reportCPU(b, func() {
		for b.Loop() {
			v, err := w.InspectRouted(ctx, r, body, scope, known)
			if err != nil || v.Blocked {
				b.Fatalf("benign request: %+v, %v", v, err)
			}
		}
	})
}

// BenchmarkInspect measures the stage per request: the default scope on a
// 2 KB chat request and on a GET without body, and the opt-in full-body
// scope on 2 KB and 16 KB chat requests.
func BenchmarkInspect(b *testing.B) {
	// The rules' own cost: a copy of the WAF without the verdict cache,
	// which would answer a repeated request from memory. "repeat" is the
	// same request with the cache, as a client's requests arrive when
	// they differ only in their prompt.
	wc := *mustDefault(b)
	wc.verdicts = nil
	w := &wc
	b.Run("default/chat-2KB/routed/repeat", func(b *testing.B) {
		cw := *mustDefault(b)
		cw.verdicts = newVerdictCache()
		benchInspect(b, &cw, chatRequest(chatBody(2<<10)), chatBody(2<<10), ScopeEnvelope, "deepseek-chat")
	})
	get := chatRequest(nil)
	get.Method, get.RequestURI = http.MethodGet, "/v1/models"
	get.Header.Del("Content-Type")
	for _, bc := range []struct {
		name  string
		r     *http.Request
		body  []byte
		scope string
		known string
	}{
		{"default/get", get, nil, ScopeEnvelope, ""},
		{"default/chat-2KB/routed", chatRequest(chatBody(2 << 10)), chatBody(2 << 10), ScopeEnvelope, "deepseek-chat"},
		{"default/chat-2KB", chatRequest(chatBody(2 << 10)), chatBody(2 << 10), ScopeEnvelope, ""},
		{"default/chat-16KB", chatRequest(chatBody(16 << 10)), chatBody(16 << 10), ScopeEnvelope, ""},
		{"none/chat-2KB", chatRequest(chatBody(2 << 10)), chatBody(2 << 10), ScopeNone, ""},
		{"full/chat-2KB", chatRequest(chatBody(2 << 10)), chatBody(2 << 10), ScopeFull, ""},
		{"full/chat-16KB", chatRequest(chatBody(16 << 10)), chatBody(16 << 10), ScopeFull, ""},
	} {
		b.Run(bc.name, func(b *testing.B) { benchInspect(b, w, bc.r, bc.body, bc.scope, bc.known) })
	}
}

// BenchmarkInspectTraffic is the default scope on traffic closer to
// production than one request repeated: 1,000 API keys, a body length and
// a request ID that change on every request, so the values that vary reach
// the regular expressions while the SDK's own headers repeat. "cold" turns
// the cache of @rx results off: the cost of a request whose every value is
// new. Both miss the verdict cache (cold has none).
func BenchmarkInspectTraffic(b *testing.B) {
	// A WAF with a verdict cache of its own: every request is new to it
	// (a new request ID), so this measures a miss, the key included.
	wc := *mustDefault(b)
	wc.verdicts = newVerdictCache()
	bodies := make([][]byte, 64)
	reqs := make([]*http.Request, 1000)
	for i := range bodies {
		bodies[i] = chatBody(1<<10 + i*97)
	}
	for i := range reqs {
		reqs[i] = chatRequest(bodies[i%len(bodies)])
		reqs[i].Header.Set("Authorization", fmt.Sprintf("Bearer sk-%032x", i*7919))
	}
	for _, cold := range []bool{false, true} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			rxCache.off = cold
			defer func() { rxCache.off = false }()
			w := &wc
			if cold {
				nc := wc
				nc.verdicts = nil
				w = &nc
			}
			ctx := context.Background()
			i := 0
			reportCPU(b, func() {
				for b.Loop() {
					r := reqs[i%len(reqs)]
					r.Header.Set("X-Request-Id", fmt.Sprintf("req-%016x", i))
					v, err := w.InspectScope(ctx, r, bodies[i%len(bodies)], ScopeEnvelope)
					if err != nil || v.Blocked {
						b.Fatalf("benign request: %+v, %v", v, err)
					}
					i++
				}
			})
		})
	}
}

// BenchmarkInspectFullAllowed is full-body inspection of a body the CRS
// flags, in detect mode so the loop goes on: the cost of a paste of code.
func BenchmarkInspectFullFlagged(b *testing.B) {
	w := mustNew(b, Config{Enabled: true, Mode: ModeDetect})
	body := []byte(`{"model":"m","messages":[{"role":"user","content":` +
		fmt.Sprintf("%q", strings.Repeat(pastes[0]+" "+pastes[6]+" "+pastes[13]+" ", 12)) + `}]}`)
	r := chatRequest(body)
	ctx := context.Background()
	reportCPU(b, func() {
		for b.Loop() {
			if _, err := w.InspectScope(ctx, r, body, ScopeFull); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEnvelope(b *testing.B) {
	for _, n := range []int{2 << 10, 16 << 10} {
		body := chatBody(n)
		b.Run(fmt.Sprintf("%dKB", n>>10), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			reportCPU(b, func() {
				for b.Loop() {
					if _, err := Envelope(body); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkNew is the cost of compiling the default configuration, paid at
// start-up and on a reload that changed the rules.
func BenchmarkNew(b *testing.B) {
	reportCPU(b, func() {
		for b.Loop() {
			w, err := New(Config{Enabled: true}, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			w.Close()
		}
	})
}
