package scan

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxLineBytes bounds one input line, line ending excluded. A longer line
// yields an error line for its id; the rest of it is read and discarded, so
// memory stays bounded whatever the input.
const MaxLineBytes = 1 << 20

// lineReader reads lines of at most max bytes and discards the excess of
// longer ones.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
	max int
	n   int // lines returned so far
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line without its line ending, whether it was longer
// than max (then line holds its first max bytes), and io.EOF after the last
// line. The line is valid until the next call.
func (l *lineReader) next() (line []byte, long bool, err error) {
	l.buf = l.buf[:0]
	// Keeping two bytes beyond max lets a line of exactly max bytes end
	// in "\r\n" without being taken for a longer one.
	limit := l.max + 2
	dropped, read := false, false
	for {
		chunk, err := l.r.ReadSlice('\n')
		read = read || len(chunk) > 0
		take := min(len(chunk), limit-len(l.buf))
		l.buf = append(l.buf, chunk[:take]...)
		dropped = dropped || take < len(chunk)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && !read {
			return nil, false, io.EOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, false, err
		}
		break
	}
	l.n++
	line = l.buf
	if !dropped {
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
	}
	// Bytes were dropped only when the line held more than max+2 bytes
	// with its newline, so it was long whatever its ending.
	long = dropped || len(line) > l.max
	if long {
		line = line[:l.max]
	}
	if l.n == 1 {
		line = bytes.TrimPrefix(line, []byte("\uFEFF"))
	}
	return line, long, nil
}
