// Package sse reads and writes Server-Sent Events as upstream model servers
// stream them. The reader follows the WHATWG EventSource parsing rules, keeps
// its buffers from one event to the next and tells a stream that ended
// cleanly from one that was cut in the middle of an event. Over a body that
// lets its buffered bytes be read in place (a Source) the reader keeps no
// read buffer of its own.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxEvent is the event size cap used when NewReader is given zero or
// a negative size. It is far above any chat.completion.chunk yet keeps one
// misbehaving upstream from growing a buffer without bound.
const DefaultMaxEvent = 1 << 20

// bufSize is the size of the read buffer NewReader puts under a plain
// io.Reader. Most events (a few hundred bytes) fit in it whole, so a line is
// copied only when it straddles two reads. It is held for the life of a
// stream, so it is kept small: the upstream connection has its own read
// buffer below this one.
const bufSize = 2 << 10

// Source is a body whose bytes can be read in place, straight out of the
// buffer it already reads into.
type Source interface {
	// Peek returns the next bytes of the body that are already buffered,
	// reading once (which may block) only when none are. It returns at
	// least one byte or an error, and io.EOF at the end of the body. The
	// bytes stay valid until the next call to Peek.
	Peek() ([]byte, error)
	// Advance consumes the first n bytes of what Peek returned. It does not
	// move or overwrite them.
	Advance(n int)
	// Buffered reports how many bytes Peek can return without reading. It
	// never reports more than that, but it may report 0 where a read turns
	// out not to be needed.
	Buffered() int
}

// bufSource is the Source NewReader makes of an io.Reader.
type bufSource bufio.Reader

func (s *bufSource) Peek() ([]byte, error) {
	br := (*bufio.Reader)(s)
	if br.Buffered() == 0 {
		if _, err := br.Peek(1); err != nil {
			return nil, err
		}
	}
	return br.Peek(br.Buffered())
}

// Advance drops n buffered bytes; n never exceeds what is buffered, so
// Discard cannot fail.
func (s *bufSource) Advance(n int) { _, _ = (*bufio.Reader)(s).Discard(n) }

func (s *bufSource) Buffered() int { return (*bufio.Reader)(s).Buffered() }

// ErrEventTooLarge reports an event (or a single line) larger than the cap
// given to NewReader. The reader stops at it: the stream cannot be resynced
// safely because the rest of the event is unknown.
var ErrEventTooLarge = errors.New("sse: event too large")

// bom is the UTF-8 byte order mark a stream may start with.
var bom = []byte("\xEF\xBB\xBF")

// Event is one dispatched event or one comment line. Its slices point into
// the Reader's buffers (or its Source's) and stay valid only until the next
// call to Next.
type Event struct {
	// Name is the "event" field, nil if the event had none.
	Name []byte
	// Data is the event's data lines joined with '\n'. For a comment it is
	// the comment text without the leading ':' and one optional space.
	Data []byte
	// ID is the "id" field of this event, nil if the event had none. Unlike
	// a browser's last event ID it does not carry over to later events, so
	// a proxy can re-emit exactly the fields it received.
	ID []byte
	// Comment marks a comment line (":" prefix), returned on its own so
	// that keep-alives can be forwarded while an upstream is thinking.
	Comment bool
}

// Reader parses an SSE stream event by event.
type Reader struct {
	src    Source
	wait   func() // called before a read that may block; may be nil
	max    int
	ev     Event
	line   []byte // holds a line that straddles two reads
	data   []byte
	name   []byte
	id     []byte
	size   int // bytes of the field lines of the pending event
	err    error
	skipLF bool // the last line ended in CR, so a leading LF belongs to it
	first  bool // no line has been read yet, so a BOM may still come
	nameOK bool
	idOK   bool
	dataOK bool
}

// NewReader returns a Reader of r. maxEvent caps the bytes of one event's
// field lines (and of any single line); zero or less means DefaultMaxEvent.
func NewReader(r io.Reader, maxEvent int) *Reader {
	return NewSourceReader((*bufSource)(bufio.NewReaderSize(r, bufSize)), maxEvent, nil)
}

// NewSourceReader returns a Reader that parses src in place: a line that
// lies within what one Peek returns is not copied, and only a line that
// straddles two is gathered in a buffer of the Reader's. beforeBlock, if not
// nil, is called before each Peek that may have to wait for the network,
// that is, once after each burst of buffered bytes: a relay flushes what it
// wrote there. maxEvent is as for NewReader.
func NewSourceReader(src Source, maxEvent int, beforeBlock func()) *Reader {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEvent
	}
	return &Reader{
		src:  src,
		wait: beforeBlock,
		max:  maxEvent,
		// Empty but not nil, without an allocation: a present but empty
		// name or id is told from an absent one, and the buffers grow to
		// the events actually seen.
		data:  make([]byte, 0),
		name:  make([]byte, 0),
		id:    make([]byte, 0),
		first: true,
	}
}

// Next returns the next event or comment. It returns io.EOF when the stream
// ends after a complete event, io.ErrUnexpectedEOF when it ends inside one,
// and ErrEventTooLarge when an event exceeds the cap. Any error is final:
// later calls return it again.
func (r *Reader) Next() (*Event, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		line, err := r.readLine()
		if err == nil {
			var ev *Event
			ev, err = r.process(line)
			if ev != nil {
				return ev, nil
			}
		}
		if err != nil {
			r.err = err
			return nil, err
		}
	}
}

// readLine returns the next line without its terminator. The line points
// into the source's buffer when it lies within one Peek and into r.line
// when it straddles Peeks.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		buf, err := r.buffered()
		if err != nil {
			return nil, r.endErr(err)
		}
		if r.skipLF {
			r.skipLF = false
			if buf[0] == '\n' {
				r.discard(1)
				continue
			}
		}
		end, next := lineEnd(buf)
		if end < 0 {
			if err := r.grow(len(buf)); err != nil {
				return nil, err
			}
			r.line = append(r.line, buf...)
			r.discard(len(buf))
			continue
		}
		r.skipLF = buf[end] == '\r' && next == end+1
		line := buf[:end]
		if len(r.line) > 0 {
			if err := r.grow(end); err != nil {
				return nil, err
			}
			line = append(r.line, line...)
			r.line = line
		}
		r.discard(next)
		return line, nil
	}
}

// buffered returns the bytes the source holds, reading once if it holds
// none. It never waits for more than one read, so an event that has
// arrived is dispatched even if the upstream then goes quiet.
func (r *Reader) buffered() ([]byte, error) {
	if r.wait != nil && r.src.Buffered() == 0 {
		r.wait()
	}
	buf, err := r.src.Peek()
	if err == nil && len(buf) == 0 {
		err = io.ErrNoProgress
	}
	return buf, err
}

// discard consumes n bytes of what buffered returned. The bytes stay in
// place until the next Peek, so a line returned in place outlives it.
func (r *Reader) discard(n int) {
	r.src.Advance(n)
}

// grow checks that a straddling line can take n more bytes.
func (r *Reader) grow(n int) error {
	if len(r.line)+n > r.max {
		return ErrEventTooLarge
	}
	return nil
}

// endErr turns a read error into the error Next reports.
func (r *Reader) endErr(err error) error {
	if !errors.Is(err, io.EOF) {
		return fmt.Errorf("sse: read: %w", err)
	}
	if len(r.line) > 0 || r.size > 0 {
		return io.ErrUnexpectedEOF
	}
	return io.EOF
}

// lineEnd finds the first line terminator in buf: it returns the index where
// the line ends and the index where the next line starts, or -1, -1. A CR at
// the very end of buf ends a line; a LF that follows in the next read is
// skipped through skipLF.
func lineEnd(buf []byte) (end, next int) {
	lf := bytes.IndexByte(buf, '\n')
	head := buf
	if lf >= 0 {
		head = buf[:lf]
	}
	if cr := bytes.IndexByte(head, '\r'); cr >= 0 {
		if cr+1 == lf {
			return cr, lf + 1
		}
		return cr, cr + 1
	}
	if lf >= 0 {
		return lf, lf + 1
	}
	return -1, -1
}

// process applies one line to the pending event and returns an event when
// the line completes one.
func (r *Reader) process(line []byte) (*Event, error) {
	raw := len(line)
	if r.first {
		r.first = false
		line = bytes.TrimPrefix(line, bom)
	}
	if len(line) == 0 {
		return r.dispatch(), nil
	}
	if line[0] == ':' {
		if raw > r.max {
			return nil, ErrEventTooLarge
		}
		return r.comment(line[1:]), nil
	}
	r.size += raw
	if r.size > r.max {
		return nil, ErrEventTooLarge
	}
	r.field(line)
	return nil, nil
}

// comment returns a comment line as an event of its own.
func (r *Reader) comment(text []byte) *Event {
	if len(text) > 0 && text[0] == ' ' {
		text = text[1:]
	}
	r.ev = Event{Data: text, Comment: true}
	return &r.ev
}

// field applies a "name: value" or bare "name" line to the pending event.
func (r *Reader) field(line []byte) {
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if r.dataOK {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
		r.dataOK = true
	case "event":
		r.name = append(r.name[:0], value...)
		r.nameOK = true
	case "id":
		// The spec ignores an id that contains NUL.
		if bytes.IndexByte(value, 0) < 0 {
			r.id = append(r.id[:0], value...)
			r.idOK = true
		}
	}
	// retry and unknown fields are ignored, as the spec says.
}

// dispatch ends the pending event on a blank line. Like a browser, it
// dispatches nothing when the event had no data field.
func (r *Reader) dispatch() *Event {
	var ev *Event
	if r.dataOK {
		r.ev = Event{Data: r.data}
		if r.nameOK {
			r.ev.Name = r.name
		}
		if r.idOK {
			r.ev.ID = r.id
		}
		ev = &r.ev
	}
	r.data = r.data[:0]
	r.size = 0
	r.dataOK, r.nameOK, r.idOK = false, false, false
	return ev
}
