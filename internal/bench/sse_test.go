package bench

import (
	"bytes"
	"strings"
	"testing"
)

// sseStream returns a stream of n data events, optionally ending in
// [DONE].
func sseStream(n int, done bool) string {
	var b strings.Builder
	for range n {
		b.WriteString(`data: {"id":"x","choices":[{"index":0,"delta":{"content":"tok "}}]}` + "\n\n")
	}
	if done {
		b.WriteString("data: [DONE]\n\n")
	}
	return b.String()
}

func TestSSECounter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc         string
		body         string
		wantEvents   int
		wantComplete bool
	}{
		{"complete stream", sseStream(5, true), 5, true},
		{"truncated: no [DONE]", sseStream(5, false), 5, false},
		{"truncated inside an event", sseStream(3, false) + `data: {"id":"x","cho`, 3, false},
		{"[DONE] without a space", sseStream(2, false) + "data:[DONE]\n\n", 2, true},
		{"unterminated [DONE] does not count", sseStream(2, false) + "data: [DONE]\n", 2, false},
		{"error event data", sseStream(2, false) + `data: {"error":{"message":"upstream failed"}}` + "\n\n", 2, false},
		{"error event name", sseStream(2, false) + "event: error\ndata: {\"message\":\"x\"}\n\n" + "data: [DONE]\n\n", 2, false},
		{"comments and heartbeats are not events", ": ping\n\n" + sseStream(1, false) + ": keep-alive\n\ndata: [DONE]\n\n", 1, true},
		{"extra blank lines", "\n\n\n" + sseStream(2, true) + "\n\n", 2, true},
		{"multi-line event counts once", "id: 1\ndata: a\ndata: b\n\ndata: [DONE]\n\n", 1, true},
		{"empty body", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			// Feeding all at once and one byte at a time must agree.
			for _, chunk := range []int{len(tt.body) + 1, 1, 7} {
				var s sseCounter
				ended := 0
				for p := []byte(tt.body); len(p) > 0; {
					n := min(chunk, len(p))
					ended += s.Feed(p[:n])
					p = p[n:]
				}
				if ended != tt.wantEvents {
					t.Errorf("chunk %d: Feed returned %d events, want %d", chunk, ended, tt.wantEvents)
				}
				if s.complete() != tt.wantComplete {
					t.Errorf("chunk %d: complete() = %v, want %v", chunk, s.complete(), tt.wantComplete)
				}
			}
		})
	}
}

func FuzzSSECounter(f *testing.F) {
	f.Add([]byte(sseStream(3, true)), uint8(5))
	f.Add([]byte("event: error\ndata: x\n\n"), uint8(1))
	f.Add([]byte(": ping\n\n\n\ndata: [DONE]\n\n"), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, split uint8) {
		var whole, parts sseCounter
		n1 := whole.Feed(body)
		cut := min(int(split), len(body))
		n2 := parts.Feed(body[:cut]) + parts.Feed(body[cut:])
		if n1 != n2 || whole.done != parts.done || whole.failed != parts.failed {
			t.Errorf("split at %d changed the count: %d/%v/%v vs %d/%v/%v",
				cut, n1, whole.done, whole.failed, n2, parts.done, parts.failed)
		}
		if max := bytes.Count(body, []byte("\n\n")); n1 > max {
			t.Errorf("%d events from %d blank lines", n1, max)
		}
	})
}

func BenchmarkSSECounterFeed(b *testing.B) {
	body := []byte(sseStream(200, true))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var s sseCounter
		// 4 KiB reads, as a socket typically delivers them.
		for p := body; len(p) > 0; {
			n := min(4096, len(p))
			s.Feed(p[:n])
			p = p[n:]
		}
		if !s.complete() {
			b.Fatal("stream not complete")
		}
	}
}
