package upstream

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestReadAnswer(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		status int
		ctype  string
		body   string
		reuse  bool
		err    error // a wanted error, from the head or the body
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", 200, "application/json", "{}", true, nil},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", 200, "text/event-stream", "abc", true, nil},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 200, "", "x", false, nil},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", 200, "", "x", true, nil},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "", "x", false, nil},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nabc", 200, "", "abc", false, nil},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", "", true, nil},
		{"vllm stream type", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nContent-Length: 0\r\n\r\n", 200, "text/event-stream; charset=utf-8", "", true, nil},
		{"unusual type", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n", 200, "text/plain", "", true, nil},
		{"last content type wins", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n", 200, "application/json", "", true, nil},
		{"type and retry-after", "HTTP/1.1 429 Too Many\r\nContent-Type: application/json\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n", 429, "application/json", "", true, nil},
		{"interim answers", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n", 429, "", "", true, nil},
		{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, "", "", true, nil},
		{"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", 200, "", "a", false, nil},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 200, "", "ab", true, io.ErrUnexpectedEOF},
		{"bad status line", "HTTP/2 200 OK\r\n\r\n", 0, "", "", false, errMalformedAnswer},
		{"bad code", "HTTP/1.1 2x0 OK\r\n\r\n", 0, "", "", false, errMalformedAnswer},
		{"folded header", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", 0, "", "", false, errMalformedAnswer},
		{"no colon", "HTTP/1.1 200 OK\r\nAbc\r\n\r\n", 0, "", "", false, errMalformedAnswer},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", 0, "", "", false, errMalformedAnswer},
		{"bad byte in name", "HTTP/1.1 200 OK\r\nX-A\x01: 1\r\nContent-Length: 1\r\n\r\nx", 0, "", "", false, errMalformedAnswer},
		{"token punctuation in name", "HTTP/1.1 200 OK\r\nX-A!#$%&'*+.^_`|~: 1\r\nContent-Length: 1\r\n\r\nx", 200, "", "x", true, nil},
		{"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 0, "", "", false, errMalformedAnswer},
		{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "", "", false, errMalformedAnswer},
		{"http/1.0 chunked", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, "", "", false, errMalformedAnswer},
		{"http/1.0 chunked and length", "HTTP/1.0 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, "", "", false, errMalformedAnswer},
		{"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, "", "", false, errMalformedAnswer},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 200, "", "", true, errAny},
		{"truncated head", "HTTP/1.1 200 OK\r\nContent-Le", 0, "", "", false, io.ErrUnexpectedEOF},
		{"huge head", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: "+strings.Repeat("a", 100)+"\r\n", 200) + "\r\n", 0, "", "", false, errHeaderTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := readAnswer(bufio.NewReaderSize(strings.NewReader(tc.in), 4096), 8<<10)
			if err != nil {
				if tc.err == nil || (tc.err != errAny && !errors.Is(err, tc.err)) {
					t.Fatalf("head: %v, want %v", err, tc.err)
				}
				return
			}
			if a.resp.StatusCode != tc.status || a.resp.Header.Get("Content-Type") != tc.ctype || a.reuse != tc.reuse {
				t.Errorf("got %d %q reuse=%v, want %d %q reuse=%v", a.resp.StatusCode,
					a.resp.Header.Get("Content-Type"), a.reuse, tc.status, tc.ctype, tc.reuse)
			}
			b, err := io.ReadAll(a.resp.Body)
			if tc.err != nil {
				if err == nil || (tc.err != errAny && !errors.Is(err, tc.err)) {
					t.Errorf("body error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || string(b) != tc.body {
				t.Errorf("body %q %v, want %q", b, err, tc.body)
			}
			if tc.status == 429 && a.resp.Header.Get("Retry-After") != "7" {
				t.Errorf("Retry-After = %q", a.resp.Header.Get("Retry-After"))
			}
		})
	}
}

// The usual answers share one read-only header; any other gets its own.
func TestAnswerHeaderShared(t *testing.T) {
	same := func(a, b http.Header) bool { return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() }
	if h := answerHeader("", ""); h != nil {
		t.Errorf("no fields: %v, want nil", h)
	}
	for _, ct := range []string{"application/json", "text/event-stream", "text/event-stream; charset=utf-8"} {
		a, b := answerHeader(ct, ""), answerHeader(ct, "")
		if !same(a, b) || len(a) != 1 || a.Get("Content-Type") != ct {
			t.Errorf("%s: %v and %v, want one shared map", ct, a, b)
		}
		if n := testing.AllocsPerRun(10, func() { answerHeader(internContentType([]byte(ct)), "") }); n != 0 {
			t.Errorf("%s: %.0f allocations", ct, n)
		}
	}
	shared := answerHeader("application/json", "")
	for _, tc := range []struct{ ct, ra string }{{"application/json", "3"}, {"text/plain", ""}, {"", "3"}} {
		h := answerHeader(tc.ct, tc.ra)
		if same(h, shared) || h.Get("Content-Type") != tc.ct || h.Get("Retry-After") != tc.ra {
			t.Errorf("%q %q: %v", tc.ct, tc.ra, h)
		}
	}
}

// errAny accepts any error.
var errAny = errors.New("any error")

// Two answers back to back on one connection: the first, read to its end,
// leaves the reader at the second.
func TestReadAnswerPipelined(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n" +
		"HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nc"
	br := bufio.NewReader(strings.NewReader(in))
	for _, want := range []struct {
		status int
		body   string
	}{{200, "ab"}, {201, "c"}} {
		a, err := readAnswer(br, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(a.resp.Body)
		if err != nil || a.resp.StatusCode != want.status || string(b) != want.body {
			t.Fatalf("got %d %q %v", a.resp.StatusCode, b, err)
		}
	}
}

// FuzzReadAnswer checks that the parser never panics and, where both it
// and net/http accept an answer, that they agree on status and body.
func FuzzReadAnswer(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 500 Internal\r\nContent-Type: text/plain\r\n\r\nboom",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := readAnswer(bufio.NewReader(strings.NewReader(string(in))), 1<<16)
		if err != nil {
			return
		}
		body, berr := io.ReadAll(io.LimitReader(a.resp.Body, 1<<20))
		ref, rerr := http.ReadResponse(bufio.NewReader(strings.NewReader(string(in))), nil)
		if rerr != nil || ref.StatusCode < 200 {
			return // net/http returns interim answers to its caller
		}
		refBody, refErr := io.ReadAll(io.LimitReader(ref.Body, 1<<20))
		if ref.StatusCode != a.resp.StatusCode {
			t.Fatalf("status %d, net/http %d", a.resp.StatusCode, ref.StatusCode)
		}
		if berr == nil && refErr == nil && string(body) != string(refBody) {
			t.Fatalf("body %q, net/http %q", body, refBody)
		}
	})
}

// BenchmarkReadAnswer parses a typical non-streaming answer's head and body.
func BenchmarkReadAnswer(b *testing.B) {
	in := "HTTP/1.1 200 OK\r\nDate: Sun, 06 Dec 2026 18:00:00 GMT\r\nServer: uvicorn\r\n" +
		"Content-Type: application/json\r\nContent-Length: 2\r\nX-Request-Id: 0123456789abcdef\r\n\r\n{}"
	r := strings.NewReader(in)
	br := bufio.NewReaderSize(r, 4096)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		br.Reset(r)
		a, err := readAnswer(br, 8<<10)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, a.resp.Body); err != nil {
			b.Fatal(err)
		}
	}
}
