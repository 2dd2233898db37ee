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
