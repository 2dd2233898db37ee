package scan

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type gotLine struct {
	text string
	long bool
}

// readAll reads every line of in with a small bound.
func readAll(t *testing.T, in io.Reader, max int) []gotLine {
	t.Helper()
	lr := newLineReader(in, max)
	var out []gotLine
	for range 10_000 {
		l, long, err := lr.next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if len(l) > max {
			t.Fatalf("line of %d bytes exceeds the bound %d", len(l), max)
		}
		out = append(out, gotLine{string(l), long})
	}
	t.Fatal("more lines than the input can hold")
	return nil
}

func TestLineReader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc  string
		input string
		want  []gotLine
	}{
		{"empty input has no line", "", nil},
		{"last line without newline", "a\nb", []gotLine{{"a", false}, {"b", false}}},
		{"trailing newline adds no line", "a\n", []gotLine{{"a", false}}},
		{"blank lines are lines", "\n\n", []gotLine{{"", false}, {"", false}}},
		{"CRLF is stripped", "ab\r\ncd\r\n", []gotLine{{"ab", false}, {"cd", false}}},
		{"exactly max bytes", "12345678\n", []gotLine{{"12345678", false}}},
		{"exactly max bytes with CRLF", "12345678\r\n", []gotLine{{"12345678", false}}},
		{"exactly max bytes at EOF", "12345678", []gotLine{{"12345678", false}}},
		{"max plus one is long", "123456789\nok\n", []gotLine{{"12345678", true}, {"ok", false}}},
		{"max plus one at EOF is long", "123456789", []gotLine{{"12345678", true}}},
		{"far longer line is cut and skipped", strings.Repeat("x", 100) + "\nok", []gotLine{{"xxxxxxxx", true}, {"ok", false}}},
		{"byte order mark on the first line is dropped", "\uFEFFab\n\uFEFFcd", []gotLine{{"ab", false}, {"\uFEFFcd", false}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			// One byte per read proves that lines spanning reads join.
			for _, in := range []io.Reader{strings.NewReader(tc.input), iotest.OneByteReader(strings.NewReader(tc.input))} {
				got := readAll(t, in, 8)
				if len(got) != len(tc.want) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Errorf("line %d: got %+v, want %+v", i+1, got[i], tc.want[i])
					}
				}
			}
		})
	}
}

func TestLineReaderLongerThanItsBuffer(t *testing.T) {
	t.Parallel()
	// Lines longer than the 64 KiB read buffer arrive in several slices.
	const max = 200 << 10
	in := strings.Repeat("a", max) + "\n" + strings.Repeat("b", max+1) + "\nc\n"
	got := readAll(t, strings.NewReader(in), max)
	if len(got) != 3 || len(got[0].text) != max || got[0].long || !got[1].long || got[2] != (gotLine{"c", false}) {
		t.Errorf("got %d lines: long %v %v, last %q", len(got), got[0].long, got[1].long, got[len(got)-1].text)
	}
}
