package sim

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// discardWriter is a ResponseWriter that costs nothing, so benchmarks
// measure the simulator alone.
type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discardWriter) Flush()                      {}

func benchRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	r.Body = io.NopCloser(bytes.NewReader(nil))
	r.ContentLength = int64(len(body))
	return r
}

// BenchmarkChatNonStream measures one non-streaming completion of 32
// reasoning and 32 answer tokens, recording disabled.
func BenchmarkChatNonStream(b *testing.B) {
	s := New(Options{MaxRecorded: -1})
	body := []byte(`{"model":"deepseek-reasoner","messages":[{"role":"user","content":"benchmark prompt"}]}`)
	w := &discardWriter{h: http.Header{}}
	r := benchRequest(string(body))
	b.ReportAllocs()
	for b.Loop() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		clear(w.h)
		s.ServeHTTP(w, r)
	}
}

// BenchmarkChatStream measures the cost of one streamed event: a single
// request streams b.N content events.
func BenchmarkChatStream(b *testing.B) {
	for _, fl := range []string{FlavorDeepSeek, FlavorVLLM, FlavorOllama} {
		b.Run(fl, func(b *testing.B) {
			s := New(Options{Flavor: fl, MaxRecorded: -1})
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			body := []byte(`{"model":"deepseek-reasoner","stream":true,"messages":[{"role":"user","content":"x"}],"x_sim":{"events":` + strconv.Itoa(b.N) + `}}`)
			r := benchRequest(string(body))
			r.Body = io.NopCloser(bytes.NewReader(body))
			s.ServeHTTP(w, r)
			if w.n == 0 {
				b.Fatal("nothing written")
			}
		})
	}
}
