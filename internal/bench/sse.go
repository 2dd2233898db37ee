package bench

import "bytes"

// sseHeadLen is how much of each event sseCounter keeps to classify it:
// enough for "data: [DONE]", "event: error" and `data: {"error"`.
const sseHeadLen = 32

// sseCounter counts server-sent events in a response body that arrives in
// chunks of any size. Events end at a blank line ("\n\n"); the gateway and
// the simulator both write LF line endings. It keeps only the head of the
// current event, so counting allocates nothing.
type sseCounter struct {
	head  [sseHeadLen]byte
	headN int
	// midLine is set while a line is incomplete at the end of a chunk, so
	// that a "\n\n" split across two chunks is still seen. Its zero value
	// treats the start of the body as the start of a line.
	midLine bool
	// done is set by "data: [DONE]", the normal end of an OpenAI stream.
	done bool
	// failed is set by an error event, the gateway's way to end a stream
	// that broke after it started.
	failed bool
}

// Feed scans the next chunk of the body and returns the number of data
// events that ended in it.
func (s *sseCounter) Feed(p []byte) int {
	ended := 0
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.keep(p)
			s.midLine = true
			return ended
		}
		// IndexByte finds the first newline, so a blank line is a newline
		// at the start of what is left, with no partial line before it.
		if i == 0 && !s.midLine {
			if s.classify() {
				ended++
			}
			s.headN = 0
		} else {
			s.keep(p[:i+1])
		}
		s.midLine = false
		p = p[i+1:]
	}
	return ended
}

// keep appends the start of b to the head of the current event.
func (s *sseCounter) keep(b []byte) {
	s.headN += copy(s.head[s.headN:], b)
}

// classify inspects the event that just ended and reports whether it was a
// data event.
func (s *sseCounter) classify() bool {
	head := s.head[:s.headN]
	switch {
	case len(head) == 0 || head[0] == ':':
		// An empty event or a comment, such as a heartbeat.
		return false
	case bytes.HasPrefix(head, []byte("event: error")), bytes.HasPrefix(head, []byte("event:error")):
		s.failed = true
		return false
	}
	data, isData := bytes.CutPrefix(head, []byte("data:"))
	if !isData {
		return true
	}
	data = bytes.TrimLeft(data, " ")
	switch {
	case bytes.HasPrefix(data, []byte("[DONE]")):
		s.done = true
		return false
	case bytes.HasPrefix(data, []byte(`{"error"`)):
		s.failed = true
		return false
	}
	return true
}

// complete reports whether the stream ended properly: with [DONE] and
// without an error event.
func (s *sseCounter) complete() bool {
	return s.done && !s.failed
}
