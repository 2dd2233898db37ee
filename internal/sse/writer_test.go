package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestAppendData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in, want string
	}{
		{"plain", `{"a":1}`, "data: {\"a\":1}\n\n"},
		{"empty", "", "data: \n\n"},
		{"LF splits lines", "a\nb", "data: a\ndata: b\n\n"},
		{"CRLF is one break", "a\r\nb", "data: a\ndata: b\n\n"},
		{"bare CR splits lines", "a\rb", "data: a\ndata: b\n\n"},
		{"trailing break keeps an empty line", "a\n", "data: a\ndata: \n\n"},
		{"field injection stays data", "x\n\nevent: evil", "data: x\ndata: \ndata: event: evil\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			if got := string(AppendData([]byte("pre"), []byte(tc.in))); got != "pre"+tc.want {
				t.Fatalf("got %q, want %q", got, "pre"+tc.want)
			}
		})
	}
}

func TestAppendComment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in, want string
	}{
		{"keep-alive", "keep-alive", ": keep-alive\n\n"},
		{"empty", "", ": \n\n"},
		{"line breaks start new comment lines", "a\r\nb\rc\nd", ": a\n: b\n: c\n: d\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			if got := string(AppendComment(nil, tc.in)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAppendCommentRoundTrip(t *testing.T) {
	t.Parallel()
	got, err := collect(strings.NewReader(string(AppendComment(nil, "a\nb"))), 0)
	want := []rec{{Comment: true, Data: "a"}, {Comment: true, Data: "b"}}
	if !errors.Is(err, io.EOF) || !equalRecs(got, want) {
		t.Fatalf("got %+v (%v), want %+v", got, err, want)
	}
}
