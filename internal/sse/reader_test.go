package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// rec is a comparable copy of an Event.
type rec struct {
	Name, Data, ID string
	HasName, HasID bool
	Comment        bool
}

func toRec(ev *Event) rec {
	return rec{
		Name: string(ev.Name), Data: string(ev.Data), ID: string(ev.ID),
		HasName: ev.Name != nil, HasID: ev.ID != nil, Comment: ev.Comment,
	}
}

// collect reads every event of r and the error that ended the stream. It
// stops after a bounded number of events so a bug cannot loop forever.
func collect(r io.Reader, maxEvent int) ([]rec, error) {
	return drain(NewReader(r, maxEvent))
}

// drain reads sr to its end, or to its 1<<20th event.
func drain(sr *Reader) ([]rec, error) {
	var out []rec
	for range 1 << 20 {
		ev, err := sr.Next()
		if err != nil {
			return out, err
		}
		out = append(out, toRec(ev))
	}
	return out, errors.New("too many events")
}

func data(s string) rec { return rec{Data: s} }

func TestReaderParsesStreams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		in   string
		want []rec
		err  error
		max  int
	}{
		{"single event with LF", "data: hello\n\n", []rec{data("hello")}, io.EOF, 0},
		{"CRLF line endings", "data: a\r\n\r\ndata: b\r\n\r\n", []rec{data("a"), data("b")}, io.EOF, 0},
		{"CR line endings", "data: a\r\rdata: b\r\r", []rec{data("a"), data("b")}, io.EOF, 0},
		{"mixed line endings", "data: a\r\ndata: b\rdata: c\n\r\n", []rec{data("a\nb\nc")}, io.EOF, 0},
		{"CR then LF then LF is one line and one blank line", "data: a\r\n\n", []rec{data("a")}, io.EOF, 0},
		{"BOM at the start is dropped", "\xEF\xBB\xBFdata: a\n\n", []rec{data("a")}, io.EOF, 0},
		{"BOM later is part of the field name", "data: a\n\n\xEF\xBB\xBFdata: b\n\ndata: c\n\n", []rec{data("a"), data("c")}, io.EOF, 0},
		{"multiple data lines are joined by LF", "data: a\ndata: b\ndata:\n\n", []rec{data("a\nb\n")}, io.EOF, 0},
		{"space after colon is optional", "data:a\n\n", []rec{data("a")}, io.EOF, 0},
		{"only one space is removed", "data:  a \n\n", []rec{data(" a ")}, io.EOF, 0},
		{"field without colon has an empty value", "data\n\n", []rec{data("")}, io.EOF, 0},
		{"colon inside the value is kept", "data: {\"a\":1}\n\n", []rec{data(`{"a":1}`)}, io.EOF, 0},
		{"event and id fields", "event: ping\nid: 7\ndata: x\n\n",
			[]rec{{Name: "ping", HasName: true, ID: "7", HasID: true, Data: "x"}}, io.EOF, 0},
		{"empty event name is present but empty", "event:\ndata: x\n\n", []rec{{HasName: true, Data: "x"}}, io.EOF, 0},
		{"name and id do not carry over", "event: a\nid: 1\ndata: x\n\ndata: y\n\n",
			[]rec{{Name: "a", HasName: true, ID: "1", HasID: true, Data: "x"}, data("y")}, io.EOF, 0},
		{"id with NUL is ignored", "id: a\x00b\ndata: x\n\n", []rec{data("x")}, io.EOF, 0},
		{"retry and unknown fields are ignored", "retry: 10\nfoo: bar\ndata: x\n\n", []rec{data("x")}, io.EOF, 0},
		{"event without data is not dispatched", "event: a\nid: 2\n\ndata: x\n\n", []rec{data("x")}, io.EOF, 0},
		{"comment lines are returned on their own", ": keep-alive\ndata: x\n:raw\n\n",
			[]rec{{Comment: true, Data: "keep-alive"}, {Comment: true, Data: "raw"}, data("x")}, io.EOF, 0},
		{"blank lines alone dispatch nothing", "\n\n\r\n", nil, io.EOF, 0},
		{"empty stream", "", nil, io.EOF, 0},
		{"stream cut inside an event", "data: a\n\ndata: b\n", []rec{data("a")}, io.ErrUnexpectedEOF, 0},
		{"stream cut inside a line", "data: a\n\ndata: b", []rec{data("a")}, io.ErrUnexpectedEOF, 0},
		{"stream cut after an ignored field", "retry: 1\n", nil, io.ErrUnexpectedEOF, 0},
		{"trailing comment is a clean end", "data: a\n\n: bye\n", []rec{data("a"), {Comment: true, Data: "bye"}}, io.EOF, 0},
		{"event over the cap", "data: 0123456789\n\n", nil, ErrEventTooLarge, 12},
		{"lines add up to the cap", "data: 0123\ndata: 0123\n\n", nil, ErrEventTooLarge, 12},
		{"comment over the cap", ": 01234567890123\n", nil, ErrEventTooLarge, 12},
		{"unterminated line over the cap", "data: 0123456789", nil, ErrEventTooLarge, 12},
		{"event at the cap", "data: 0123\n\ndata: 5678\n\n", []rec{data("0123"), data("5678")}, io.EOF, 12},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			for name, r := range readers(tc.in) {
				got, err := collect(r, tc.max)
				if !errors.Is(err, tc.err) {
					t.Fatalf("%s: error %v, want %v", name, err, tc.err)
				}
				if !equalRecs(got, tc.want) {
					t.Fatalf("%s: events %+v, want %+v", name, got, tc.want)
				}
			}
		})
	}
}

// readers delivers s whole and in several small-slice patterns.
func readers(s string) map[string]io.Reader {
	return map[string]io.Reader{
		"whole":   strings.NewReader(s),
		"onebyte": iotest.OneByteReader(strings.NewReader(s)),
		"half":    iotest.HalfReader(strings.NewReader(s)),
		"dataerr": iotest.DataErrReader(strings.NewReader(s)),
	}
}

func equalRecs(a, b []rec) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReaderLongLineAcrossBuffers(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3*bufSize+17)
	in := "data: a\n\ndata: " + long + "\r\ndata: b\n\n"
	got, err := collect(strings.NewReader(in), 0)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("error %v, want io.EOF", err)
	}
	want := []rec{data("a"), data(long + "\nb")}
	if !equalRecs(got, want) {
		t.Fatalf("got %d events, want %d (or data differs)", len(got), len(want))
	}
}

func TestReaderDefaultCap(t *testing.T) {
	t.Parallel()
	in := "data: " + strings.Repeat("x", DefaultMaxEvent) + "\n\n"
	_, err := collect(strings.NewReader(in), 0)
	if !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("error %v, want ErrEventTooLarge", err)
	}
}

func TestReaderErrorIsSticky(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("data: 0123456789\n\ndata: a\n\n"), 8)
	for i := range 3 {
		if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
			t.Fatalf("call %d: error %v, want ErrEventTooLarge", i, err)
		}
	}
}

func TestReaderPassesReadErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	r := NewReader(io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom)), 0)
	ev, err := r.Next()
	if err != nil || string(ev.Data) != "a" {
		t.Fatalf("first event %v, %v", ev, err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
}

// TestReaderDoesNotWaitForMoreInput checks that an event is returned as soon
// as its blank line has arrived, with every line ending, even though the
// writer sends nothing more: a stalled upstream must not hold back an event
// it already sent.
func TestReaderDoesNotWaitForMoreInput(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"data: a\n\n", "data: a\r\r", "data: a\r\n\r\n", ": ping\r"} {
		pr, pw := io.Pipe()
		r := NewReader(pr, 0)
		done := make(chan error, 1)
		go func() {
			_, err := r.Next()
			done <- err
		}()
		go func() { _, _ = pw.Write([]byte(in)) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%q: %v", in, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%q: event not returned while the stream stays open", in)
		}
		_ = pw.Close()
	}
}

func TestReaderDataValidUntilNext(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("data: first\n\ndata: second\n\n"), 0)
	ev, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	first := bytes.Clone(ev.Data)
	if ev, err = r.Next(); err != nil || string(ev.Data) != "second" || string(first) != "first" {
		t.Fatalf("got %q then %q (%v)", first, ev.Data, err)
	}
}
