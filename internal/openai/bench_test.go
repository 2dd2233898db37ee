package openai

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

func chatBody(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/chat_2k.json")
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

func BenchmarkDecodeChat(b *testing.B) {
	body := chatBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(Chat, body, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONTextWalk is the baseline the hand-written scanner is
// measured against: jsontext reading every token of the same body, with its
// default duplicate-name and UTF-8 checks, and extracting nothing.
func BenchmarkJSONTextWalk(b *testing.B) {
	body := chatBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	r := bytes.NewReader(body)
	dec := jsontext.NewDecoder(r)
	for b.Loop() {
		r.Reset(body)
		dec.Reset(r)
		for {
			if _, err := dec.ReadToken(); err != nil {
				if err == io.EOF {
					break
				}
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkScanChat validates the same body with the scanner alone, the
// like-for-like comparison with BenchmarkJSONTextWalk.
func BenchmarkScanChat(b *testing.B) {
	body := chatBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s := getScanner(body, 0)
		if err := s.value(); err != nil {
			b.Fatal(err)
		}
		putScanner(s)
	}
}

func BenchmarkAppendUpstreamBodyNoEdits(b *testing.B) {
	body := chatBody(b)
	r, err := Decode(Chat, body, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = r.AppendUpstreamBody(dst[:0], Edits{Model: r.Model})
	}
}

func BenchmarkAppendUpstreamBodyEdits(b *testing.B) {
	body := chatBody(b)
	r, err := Decode(Chat, body, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 4096)
	e := Edits{Model: "deepseek-chat", ForceIncludeUsage: true, MaxTokens: 512, SetContent: map[int]string{1: "masked"}}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = r.AppendUpstreamBody(dst[:0], e)
	}
}

// typicalChunk is a 250-byte DeepSeek reasoning chunk.
const typicalChunk = `{"id":"5a9f0d2e-7c1b-4d8e-9a3f-2b6c8d1e0f47","object":"chat.completion.chunk","created":1737000000,"model":"deepseek-reasoner","system_fingerprint":"fp_5417b77867_prod0225","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Okay, the user"},"logprobs":null,"finish_reason":null}]}`

func BenchmarkParseChunk(b *testing.B) {
	data := []byte(typicalChunk)
	var c Chunk
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseChunk(data, &c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendChunkWithDeltas(b *testing.B) {
	data := []byte(typicalChunk)
	dst := make([]byte, 0, 512)
	set := []DeltaEdit{{Index: 0, Reasoning: ptr("Okay, the [NAME]")}}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = AppendChunkWithDeltas(dst[:0], data, set); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemmoveBaseline(b *testing.B) {
	body := chatBody(b)
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		dst = append(dst[:0], body...)
	}
}
