package sse

import (
	"strings"
	"testing"
)

// chunkEvent is a typical 300-byte chat.completion.chunk event.
var chunkEvent = func() string {
	head := `data: {"id":"chatcmpl-8f2b6c1e-4c1d-4b8a-9d0e-2f1a3b4c5d6e","object":"chat.completion.chunk","created":1767225600,"model":"deepseek-reasoner","system_fingerprint":"fp_7e73fd9a08","choices":[{"index":0,"delta":{"content":"`
	tail := `"},"logprobs":null,"finish_reason":null}]}` + "\n\n"
	return head + strings.Repeat("x", 300-len(head)-len(tail)) + tail
}()

// loopReader repeats its content forever, like an endless stream.
type loopReader struct {
	buf []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.buf[l.off:])
	l.off = (l.off + n) % len(l.buf)
	return n, nil
}

func BenchmarkReaderChunkEvent(b *testing.B) {
	r := NewReader(&loopReader{buf: []byte(strings.Repeat(chunkEvent, 128))}, 0)
	b.SetBytes(int64(len(chunkEvent)))
	b.ReportAllocs()
	for b.Loop() {
		ev, err := r.Next()
		if err != nil || len(ev.Data) != len(chunkEvent)-8 {
			b.Fatalf("event %v, %v", ev, err)
		}
	}
}

func BenchmarkAppendData(b *testing.B) {
	data := []byte(chunkEvent[6 : len(chunkEvent)-2])
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendData(dst[:0], data)
	}
}
