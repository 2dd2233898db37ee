package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"strings"
	"testing"
)

// refChunked is the body decoder the gateway had before its own: net/http's
// chunked reader, then the trailer read up to the empty line.
type refChunked struct {
	br     *bufio.Reader
	cr     io.Reader
	budget int
	done   bool
}

func (b *refChunked) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.cr.Read(p)
	if err == io.EOF {
		for {
			l, lerr := line(b.br, &b.budget)
			if lerr != nil {
				if lerr == io.EOF {
					lerr = io.ErrUnexpectedEOF
				}
				return n, lerr
			}
			if len(l) == 0 {
				break
			}
		}
		b.done = true
	}
	return n, err
}

// pieceReader hands out its input in pieces whose lengths come from cuts
// (the rest in one piece once they run out) and counts its reads.
type pieceReader struct {
	rest  []byte
	cuts  []byte
	reads int
}

func (r *pieceReader) Read(p []byte) (int, error) {
	r.reads++
	if len(r.rest) == 0 {
		return 0, io.EOF
	}
	n := len(r.rest)
	if len(r.cuts) > 0 {
		n = min(n, 1+int(r.cuts[0]))
		r.cuts = r.cuts[1:]
	}
	n = copy(p, r.rest[:n])
	r.rest = r.rest[n:]
	return n, nil
}

// peekAll reads a body through Peek and Advance, taking step bytes at a
// time (all that Peek returned when step is 0). Where Buffered promised
// bytes, it checks that Peek reads nothing.
func peekAll(t *testing.T, b *chunkedBody, pr *pieceReader, step int) ([]byte, error) {
	t.Helper()
	var out []byte
	for range 1 << 20 {
		buffered, reads := b.Buffered(), pr.reads
		p, err := b.Peek()
		if err != nil {
			return out, err
		}
		if len(p) == 0 {
			t.Fatal("Peek returned nothing and no error")
		}
		if buffered > 0 && (pr.reads != reads || len(p) < buffered) {
			t.Fatalf("Buffered() = %d, then Peek read %d times and returned %d bytes", buffered, pr.reads-reads, len(p))
		}
		n := len(p)
		if step > 0 {
			n = min(n, step)
		}
		out = append(out, p[:n]...)
		b.Advance(n)
	}
	t.Fatal("body does not end")
	return nil, nil
}

const testTrailerBudget = 1 << 10

// FuzzChunkedBody checks the chunked decoder against net/http's on the same
// bytes: read with Read or in place, cut into reads anywhere, it gives the
// same data, fails where net/http fails, and leaves the connection at the
// same byte after the body.
func FuzzChunkedBody(f *testing.F) {
	for _, s := range []string{
		"3\r\nabc\r\n0\r\n\r\n",
		"3;ext=1\r\nabc\r\n10 \t\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\nHTTP/1.1",
		"12c\r\n" + strings.Repeat("x", 300) + "\r\n0\r\n\r\n",
		"3\nabc\r\n0\r\n\r\n", "3\r\nabcd\r\n0\r\n\r\n", "3\r\nab", "zz\r\n", "10000000000000000\r\n",
		"3\r\na\rc\r\n0\r\n\r\n", "1\r\r\na\r\n0\r\n\r\n", "0\r\nX: 1\n\r\n", "0\r\n", "",
		"1;" + strings.Repeat("e", 300) + "\r\nx\r\n1;" + strings.Repeat("e", 300) + "\r\ny\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s), []byte("\x02\x05\x00\x10"))
	}
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		rbr := bufio.NewReaderSize(bytes.NewReader(in), 4<<10)
		want, werr := io.ReadAll(&refChunked{br: rbr, cr: httputil.NewChunkedReader(rbr), budget: testTrailerBudget})
		wrest, _ := io.ReadAll(rbr)
		for _, step := range []int{-1, 0, 3} {
			pr := &pieceReader{rest: in, cuts: cuts}
			br := bufio.NewReaderSize(pr, 4<<10)
			b := &chunkedBody{br: br, budget: testTrailerBudget}
			var got []byte
			var err error
			if step < 0 {
				got, err = io.ReadAll(b)
			} else {
				got, err = peekAll(t, b, pr, step)
				if errors.Is(err, io.EOF) {
					err = nil
				}
			}
			if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Fatalf("step %d: error %v, net/http %v", step, err, werr)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("step %d: data %q, net/http %q", step, got, want)
			}
			if err == nil {
				if rest, _ := io.ReadAll(br); !bytes.Equal(rest, wrest) {
					t.Fatalf("step %d: %q left after the body, net/http left %q", step, rest, wrest)
				}
			}
		}
	})
}

func TestChunkedBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		data string
		err  error // nil: a clean end
	}{
		{"chunks and trailer", "3\r\nabc\r\n2;x=\"y\"\r\nde\r\n0\r\nA: 1\r\nB: 2\r\n\r\n", "abcde", nil},
		{"upper-case hex and blanks", "A \t\r\n0123456789\r\n0\r\n\r\n", "0123456789", nil},
		{"empty body", "0\r\n\r\n", "", nil},
		{"bad hex", "3\r\nabc\r\nzz\r\n", "abc", errChunkBadSize},
		{"empty size", ";x\r\nabc\r\n", "", errChunkEmptySize},
		{"size overflow", "10000000000000000\r\n", "", errChunkTooLarge},
		{"bare LF after size", "3\nabc\r\n0\r\n\r\n", "", errChunkBareLF},
		{"CR inside size line", "3\r;\r\nabc\r\n0\r\n\r\n", "", errChunkCR},
		{"no CR LF after data", "3\r\nabcd\r\n0\r\n\r\n", "abc", errChunkMalformed},
		{"size line too long", "1;" + strings.Repeat("e", maxChunkLine) + "\r\nx\r\n0\r\n\r\n", "", httputil.ErrLineTooLong},
		{"too much framing", strings.Repeat("1;"+strings.Repeat("e", 1000)+"\r\nx\r\n", 20), strings.Repeat("x", 16), errChunkOverhead},
		{"cut inside data", "5\r\nabc", "abc", io.ErrUnexpectedEOF},
		{"cut after data", "3\r\nabc", "abc", io.ErrUnexpectedEOF},
		{"cut inside size line", "3\r\nabc\r\n1", "abc", io.ErrUnexpectedEOF},
		{"cut inside trailer", "0\r\nA: 1\r\n", "", io.ErrUnexpectedEOF},
		{"trailer too large", "0\r\n" + strings.Repeat("A: "+strings.Repeat("a", 100)+"\r\n", 20) + "\r\n", "", errHeaderTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, inPlace := range []bool{false, true} {
				pr := &pieceReader{rest: []byte(tc.in), cuts: []byte{2, 0, 7}}
				b := &chunkedBody{br: bufio.NewReaderSize(pr, 4<<10), budget: testTrailerBudget}
				var got []byte
				var err error
				if inPlace {
					if got, err = peekAll(t, b, pr, 0); err == io.EOF {
						err = nil
					}
				} else {
					got, err = io.ReadAll(b)
				}
				if string(got) != tc.data || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
					t.Errorf("in place %v: %q, %v; want %q, %v", inPlace, got, err, tc.data, tc.err)
				}
			}
		})
	}
}

// Buffered reads over framing that has arrived, but never waits for more:
// it reports 0 when a Peek would have to read from the connection.
func TestChunkedBufferedNeverReads(t *testing.T) {
	t.Parallel()
	in := "5\r\nhel" + "lo\r\n3\r\nabc\r\n" + "0\r\n\r\n"
	pr := &pieceReader{rest: []byte(in), cuts: []byte{byte(len("5\r\nhel") - 1), byte(len("lo\r\n3\r\nabc\r\n") - 1)}}
	b := &chunkedBody{br: bufio.NewReaderSize(pr, 4<<10), budget: testTrailerBudget}
	steps := []struct {
		buffered int
		peek     string
		reads    int // reads of the connection so far, after the Peek
	}{
		{0, "hel", 1},
		{0, "lo", 2},
		{3, "abc", 2}, // the CR LF and the next size line had arrived with "lo"
		{0, "", 3},    // the last chunk and the end had not
	}
	for i, s := range steps {
		before := pr.reads
		if got := b.Buffered(); got != s.buffered || pr.reads != before {
			t.Fatalf("step %d: Buffered() = %d after %d reads, want %d after none", i, got, pr.reads-before, s.buffered)
		}
		p, err := b.Peek()
		if s.peek == "" {
			if err != io.EOF {
				t.Fatalf("step %d: Peek %q, %v; want io.EOF", i, p, err)
			}
		} else if string(p) != s.peek || err != nil {
			t.Fatalf("step %d: Peek %q, %v; want %q", i, p, err, s.peek)
		}
		if pr.reads != s.reads {
			t.Fatalf("step %d: %d reads, want %d", i, pr.reads, s.reads)
		}
		b.Advance(len(p))
	}
}

// Read, like net/http's chunked reader, returns the data it has rather
// than wait for framing that has not arrived.
func TestChunkedReadDoesNotWaitWithData(t *testing.T) {
	t.Parallel()
	pr := &pieceReader{rest: []byte("3\r\nabc\r\n2\r\nde\r\n" + "0\r\n\r\n"), cuts: []byte{byte(len("3\r\nabc\r\n2\r\nde\r\n") - 1)}}
	b := &chunkedBody{br: bufio.NewReaderSize(pr, 4<<10), budget: testTrailerBudget}
	buf := make([]byte, 64)
	n, err := b.Read(buf)
	if string(buf[:n]) != "abcde" || err != nil || pr.reads != 1 {
		t.Fatalf("first Read %q, %v after %d reads; want \"abcde\" after 1", buf[:n], err, pr.reads)
	}
	if n, err = b.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("second Read %d, %v; want io.EOF", n, err)
	}
}

func TestLengthAndCloseBodiesInPlace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body func(br *bufio.Reader) bodySource
		in   string
		data string
		err  error
	}{
		{"length", func(br *bufio.Reader) bodySource { return &lengthBody{r: br, n: 5} }, "hello, and the next answer", "hello", io.EOF},
		{"short length", func(br *bufio.Reader) bodySource { return &lengthBody{r: br, n: 9} }, "hello", "hello", io.ErrUnexpectedEOF},
		{"until close", func(br *bufio.Reader) bodySource { return closeBody{r: br} }, "hello", "hello", io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pr := &pieceReader{rest: []byte(tc.in), cuts: []byte{1, 2}}
			b := tc.body(bufio.NewReaderSize(pr, 4<<10))
			var got []byte
			for {
				buffered, reads := b.Buffered(), pr.reads
				p, err := b.Peek()
				if err != nil {
					if string(got) != tc.data || err != tc.err {
						t.Fatalf("%q, %v; want %q, %v", got, err, tc.data, tc.err)
					}
					return
				}
				if buffered > 0 && pr.reads != reads {
					t.Fatalf("Buffered() = %d, yet Peek read", buffered)
				}
				got = append(got, p...)
				b.Advance(len(p))
			}
		})
	}
}

// Advancing by nothing, as at a chunk boundary, changes nothing.
func TestChunkedAdvanceZero(t *testing.T) {
	t.Parallel()
	b := &chunkedBody{br: bufio.NewReader(strings.NewReader("3\r\nabc\r\n0\r\n\r\n")), budget: testTrailerBudget}
	b.Advance(0)
	got, err := io.ReadAll(b)
	if string(got) != "abc" || err != nil {
		t.Fatalf("%q, %v; want \"abc\"", got, err)
	}
}
