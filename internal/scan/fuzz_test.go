package scan

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/dlp"
)

// demoJudge is the judge `rampart scan` runs without -c, compiled once.
var demoJudge = sync.OnceValues(func() (*judge, error) {
	cfg := config.Demo("", "http://127.0.0.1/v1")
	return newJudge(cfg.DLP, cfg.Guards, nil)
})

func testJudge(tb testing.TB) *judge {
	tb.Helper()
	j, err := demoJudge()
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// FuzzJudgeLine proves that any input line yields one well-formed output
// object: an error with an id, or a verdict whose findings lie inside the
// text.
func FuzzJudgeLine(f *testing.F) {
	for _, s := range []string{
		jsonLine("a", "mail bob@example.org", ""),
		jsonLine("b", jailbreak, "tool"),
		`{"id": 1, "text": "😀 中文 4111 1111 1111 1111", "role": "assistant"}`,
		`{"id": "x", "text": "\ud800"}`,
		`{"id": "x", "id": "y", "text": ""}`,
		`{"text": null}`,
		`{"id": [1, {"a": null}], "text": "a\u0000b"}`,
		`{"id"`,
		`  {}`,
		"plain \xff\xfe text",
		"",
		`[1, 2]`,
	} {
		f.Add([]byte(s))
	}
	j := testJudge(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		res := j.line(t.Context(), 3, line, false)
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatalf("output does not encode: %v", err)
		}
		switch o := res.(type) {
		case errorLine:
			if o.Error == "" || !jsontext.Value(o.ID).IsValid() {
				t.Fatalf("bad error line %s", b)
			}
		case dlp.ScanOutput:
			checkOutput(t, o, line, b)
		default:
			t.Fatalf("unexpected result type %T", res)
		}
	})
}

func checkOutput(t *testing.T, o dlp.ScanOutput, line, b []byte) {
	t.Helper()
	if rank(o.Action) == 0 && o.Action != dlp.VerdictPass || !jsontext.Value(o.ID).IsValid() {
		t.Fatalf("bad output %s", b)
	}
	text := string(line)
	if isObject(line) {
		var in input
		if err := json.Unmarshal(line, &in, lenient); err != nil || in.Text == nil {
			t.Fatalf("judged a line that does not decode: %s", b)
		}
		text = *in.Text
	} else if string(o.ID) != `"3"` {
		t.Fatalf("plain text line got id %s", o.ID)
	}
	n := utf8.RuneCountInString(text)
	for _, fd := range o.Findings {
		if fd.Start < 0 || fd.Start >= fd.End || fd.End > n {
			t.Fatalf("finding %+v outside a text of %d code points", fd, n)
		}
	}
}

// FuzzLineReader proves that the reader splits any input as a plain split
// on newlines would, within the bound.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\nb\r\n\n"), uint8(4))
	f.Add([]byte("\uFEFF123456789\r\nx"), uint8(8))
	f.Add([]byte("1234\r\n"), uint8(3))
	f.Add([]byte(""), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, m uint8) {
		max := int(m%32) + 1
		want := splitLines(in, max)
		got := readAll(t, &chunkReader{b: in}, max)
		if len(got) != len(want) {
			t.Fatalf("got %d lines %+v, want %d %+v", len(got), got, len(want), want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("line %d: got %+v, want %+v", i+1, got[i], want[i])
			}
		}
	})
}

// chunkReader yields its bytes three at a time, so that lines span reads.
type chunkReader struct{ b []byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 3)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// splitLines is the reader's contract, written plainly.
func splitLines(in []byte, max int) []gotLine {
	if len(in) == 0 {
		return nil
	}
	segs := strings.Split(string(in), "\n")
	if bytes.HasSuffix(in, []byte("\n")) {
		segs = segs[:len(segs)-1]
	}
	out := make([]gotLine, 0, len(segs))
	for i, s := range segs {
		s = strings.TrimSuffix(s, "\r")
		long := len(s) > max
		if long {
			s = s[:max]
		}
		if i == 0 {
			s = strings.TrimPrefix(s, "\uFEFF")
		}
		out = append(out, gotLine{s, long})
	}
	return out
}
