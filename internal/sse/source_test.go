package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// splitSource is a Source that hands out its input in pieces whose lengths
// come from cuts (the rest in one piece once cuts run out). Each piece is
// copied into one buffer that the next piece overwrites, the way a
// connection's read buffer is reused, so a line kept past its Peek shows.
type splitSource struct {
	t      *testing.T
	rest   []byte
	cuts   []byte
	buf    []byte
	off    int
	reads  int  // pieces handed out, and the final io.EOF
	waited bool // the reader called beforeBlock since the last read
}

func (s *splitSource) Peek() ([]byte, error) {
	if s.off < len(s.buf) {
		return s.buf[s.off:], nil
	}
	if !s.waited {
		s.t.Errorf("read %d without beforeBlock first", s.reads+1)
	}
	s.waited = false
	s.reads++
	if len(s.rest) == 0 {
		return nil, io.EOF
	}
	n := len(s.rest)
	if len(s.cuts) > 0 {
		n = min(n, 1+int(s.cuts[0]))
		s.cuts = s.cuts[1:]
	}
	for i := range s.buf[:cap(s.buf)] {
		s.buf[:cap(s.buf)][i] = 0xFF
	}
	s.buf = append(s.buf[:0], s.rest[:n]...)
	s.rest = s.rest[n:]
	s.off = 0
	return s.buf, nil
}

func (s *splitSource) Advance(n int) {
	if n < 0 || n > len(s.buf)-s.off {
		s.t.Fatalf("Advance(%d) with %d bytes peeked", n, len(s.buf)-s.off)
	}
	s.off += n
}

func (s *splitSource) Buffered() int { return len(s.buf) - s.off }

func (s *splitSource) beforeBlock() {
	if s.Buffered() != 0 {
		s.t.Errorf("beforeBlock with %d bytes buffered", s.Buffered())
	}
	s.waited = true
}

func newSplitSource(t *testing.T, in, cuts []byte) *splitSource {
	return &splitSource{t: t, rest: in, cuts: cuts, buf: make([]byte, 0, 64)}
}

// collectSource is collect over NewSourceReader.
func collectSource(src *splitSource, maxEvent int) ([]rec, error) {
	return drain(NewSourceReader(src, maxEvent, src.beforeBlock))
}

// FuzzSourceReader checks that a Reader over a Source, cut into pieces at
// any points, gives the same events and the same end as one over an
// io.Reader, and that it calls beforeBlock before every read and never
// while bytes are buffered.
func FuzzSourceReader(f *testing.F) {
	for _, s := range []struct{ in, cuts string }{
		{"data: a\n\n", ""}, {"data: a\r\n\r\n", "\x06"}, {"data: a\r\rdata: b\r\r", "\x06\x00"},
		{"\xEF\xBB\xBFdata: x\n\n", "\x00\x01"}, {": ping\n\nevent: e\nid: 1\ndata: y\ndata: z\n\n", "\x03\x03\x03"},
		{"retry: 5\ndata\n\n", "\x00"}, {"data: cut", "\x02"},
		{"data: " + strings.Repeat("long ", 20) + "\n\n", "\x10\x20\x05"}, {"id: a\x00\ndata:\n\n", "\x04"},
	} {
		f.Add([]byte(s.in), []byte(s.cuts))
	}
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		const maxEvent = 64
		want, werr := collect(bytes.NewReader(in), maxEvent)
		src := newSplitSource(t, in, cuts)
		got, err := collectSource(src, maxEvent)
		if outcome(err) != outcome(werr) {
			t.Fatalf("source reader ended with %v, io.Reader one with %v", err, werr)
		}
		if !equalRecs(got, want) {
			t.Fatalf("source reader events %+v, io.Reader one %+v", got, want)
		}
	})
}

func TestSourceReaderWaitsOncePerBurst(t *testing.T) {
	t.Parallel()
	in := []byte("data: a\n\ndata: b\n\n: c\n\ndata: d\n\ndata: e\n\n")
	// Two bursts: the first three events, then the last two.
	src := newSplitSource(t, in, []byte{byte(len("data: a\n\ndata: b\n\n: c\n\n") - 1)})
	got, err := collectSource(src, 0)
	if !errors.Is(err, io.EOF) || len(got) != 5 {
		t.Fatalf("got %+v, %v; want 5 events then io.EOF", got, err)
	}
	if src.reads != 3 {
		t.Errorf("%d reads, want 3 (two bursts and the end)", src.reads)
	}
}

// A line within one Peek is parsed where it lies; only a line cut across
// two Peeks is gathered into the reader's own buffer.
func TestSourceReaderParsesInPlace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		cuts   []byte
		copied bool
	}{
		{"whole", nil, false},
		{"cut between events", []byte{byte(len("data: a\n\n") - 1)}, false},
		{"cut inside a line", []byte{2}, true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			src := newSplitSource(t, []byte("data: a\n\n: comment\n"), tc.cuts)
			r := NewSourceReader(src, 0, src.beforeBlock)
			for range 2 {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}
			if copied := cap(r.line) > 0; copied != tc.copied {
				t.Errorf("line buffer used: %v, want %v", copied, tc.copied)
			}
		})
	}
}

func TestSourceReaderNoProgress(t *testing.T) {
	t.Parallel()
	r := NewSourceReader(emptySource{}, 0, nil)
	if _, err := r.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("error %v, want io.ErrNoProgress", err)
	}
}

// emptySource breaks the Source contract: Peek returns nothing and no error.
type emptySource struct{}

func (emptySource) Peek() ([]byte, error) { return nil, nil }
func (emptySource) Advance(int)           {}
func (emptySource) Buffered() int         { return 0 }
