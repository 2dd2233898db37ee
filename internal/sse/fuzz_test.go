package sse

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// chunkReader returns its input in slices of pseudo-random small sizes.
type chunkReader struct {
	rest []byte
	rng  *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.rest) == 0 {
		return 0, io.EOF
	}
	n := min(1+c.rng.IntN(7), len(p), len(c.rest))
	n = copy(p, c.rest[:n])
	c.rest = c.rest[n:]
	return n, nil
}

// outcome sorts an error into the class a caller acts on.
func outcome(err error) string {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.Is(err, ErrEventTooLarge):
		return "too large"
	}
	return "other: " + err.Error()
}

// FuzzReader checks that the reader never panics and that how the stream is
// cut into reads changes neither the events nor how the stream ends.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "data: a\r\n\r\n", "data: a\r\rdata: b\r\r", "\xEF\xBB\xBFdata: x\n\n",
		": ping\n\nevent: e\nid: 1\ndata: y\ndata: z\n\n", "retry: 5\ndata\n\n", "data: cut",
		"data: " + strings.Repeat("long ", 20) + "\n\n", "id: a\x00\ndata:\n\n",
	} {
		f.Add([]byte(s), uint64(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, seed uint64) {
		const maxEvent = 64
		want, werr := collect(bytes.NewReader(in), maxEvent)
		variants := map[string]io.Reader{
			"onebyte": iotest.OneByteReader(bytes.NewReader(in)),
			"half":    iotest.HalfReader(bytes.NewReader(in)),
			"dataerr": iotest.DataErrReader(bytes.NewReader(in)),
			"random":  &chunkReader{rest: in, rng: rand.New(rand.NewPCG(seed, 0))},
		}
		for name, r := range variants {
			got, err := collect(r, maxEvent)
			if outcome(err) != outcome(werr) {
				t.Fatalf("%s: ended with %v, whole read ended with %v", name, err, werr)
			}
			if !equalRecs(got, want) {
				t.Fatalf("%s: events %+v, whole read gave %+v", name, got, want)
			}
		}
	})
}

// FuzzAppendData checks that whatever the data, a reader gets back exactly
// one event whose data is the input with its line breaks turned into LF.
func FuzzAppendData(f *testing.F) {
	for _, s := range []string{"", "a", "a\nb", "a\r\nb", "a\rb\r", "\n\n", "data: x\n\nevent: y"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := collect(bytes.NewReader(AppendData(nil, in)), len(in)*8+64)
		want := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(in))
		if !errors.Is(err, io.EOF) || len(got) != 1 || got[0] != data(want) {
			t.Fatalf("got %+v (%v), want one event with %q", got, err, want)
		}
	})
}
