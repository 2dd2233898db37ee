// Package reasoning normalises a reasoning model's output into two channels,
// reasoning and answer, and renders them to the client per route policy.
//
// DeepSeek-R1 sends its reasoning either in a separate reasoning_content
// field or inline in content as <think>...</think>; R1 distills often leave
// out the opening tag. Guards and DLP read both normalised channels, so what
// a route hides from the client is still inspected.
package reasoning

import "strings"

// Mode says how an upstream marks reasoning inside content.
type Mode int

const (
	// ModeNone: the upstream sends reasoning in reasoning_content and content
	// is only the answer. Content is not searched for tags: a route that
	// declares a reasoning parser upstream should not have an answer that
	// happens to begin with "<think>" cut away, and it would cost a hold-back
	// at the start of every stream. Use ModeTags when unsure.
	ModeNone Mode = iota
	// ModeTags: content may begin with <think>...</think>, after optional
	// whitespace. Anything else before the tag means there is no reasoning.
	ModeTags
	// ModeImplicitOpen: content begins in reasoning, with or without an
	// opening tag, and "</think>" ends it. A stream that ends without
	// "</think>" was all reasoning: holding the whole stream back to decide
	// otherwise would stall the client, and guards read both channels, so
	// nothing escapes inspection either way.
	ModeImplicitOpen
)

const (
	openTag  = "<think>"
	closeTag = "</think>"
	// maxLead is how much whitespace may precede the opening tag. It bounds
	// the hold-back at the start of a stream; beyond it there is no tag.
	maxLead = 64
	// spaces is what counts as whitespace around the tags.
	spaces = " \t\r\n"
)

// state is where a Splitter is in the text.
type state uint8

const (
	stAnswer    state = iota // in the answer; no more tags are looked for
	stStart                  // before the opening tag is known to be there or not
	stReasoning              // inside the reasoning block
	stSeparator              // after "</think>", dropping whitespace
)

// Splitter splits a stream of content fragments into reasoning and answer.
// It holds back only what may be part of a tag (or leading whitespace before
// one) and releases it unchanged once it turns out not to be. Only the first
// reasoning block at the start of the content is recognised; tags later in
// the answer are ordinary text. The zero value is a Splitter in ModeNone.
type Splitter struct {
	mode  Mode
	state state
	n     int // bytes held back in held
	tag   int // bytes of the opening tag among them
	held  [maxLead + len(openTag)]byte
}

// NewSplitter returns a Splitter for mode m.
func NewSplitter(m Mode) *Splitter {
	s := new(Splitter)
	s.Reset(m)
	return s
}

// Reset prepares s for a new stream in mode m, keeping its memory.
func (s *Splitter) Reset(m Mode) {
	*s = Splitter{mode: m}
	if m != ModeNone {
		s.state = stStart
	}
}

// Feed consumes the next fragment of content and returns the reasoning and
// answer text that can be emitted now. Within one call, reasoning always
// precedes answer in the stream.
func (s *Splitter) Feed(fragment string) (reasoning, answer string) {
	switch s.state {
	case stStart:
		return s.start(fragment)
	case stReasoning:
		return s.reasoning(fragment)
	case stSeparator:
		return "", s.separator(fragment)
	}
	return "", fragment
}

// Flush ends the stream and returns what was held back. A partial tag or
// leading whitespace at the end of the stream is text, not markup.
func (s *Splitter) Flush() (reasoning, answer string) {
	rest := string(s.held[:s.n])
	s.n, s.tag = 0, 0
	switch s.state {
	case stStart:
		if s.mode == ModeTags {
			s.state = stAnswer
			return "", rest
		}
		s.state = stReasoning
		return rest, ""
	case stReasoning:
		return rest, ""
	}
	return "", ""
}

// Split is the whole-text form of Feed and Flush, for responses that are not
// streamed.
func Split(text string, m Mode) (reasoning, answer string) {
	var s Splitter
	s.Reset(m)
	r1, a1 := s.Feed(text)
	r2, a2 := s.Flush()
	return r1 + r2, a1 + a2
}

// start looks for leading whitespace and the opening tag.
func (s *Splitter) start(f string) (reasoning, answer string) {
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == openTag[s.tag]:
			s.hold(c)
			s.tag++
			if s.tag == len(openTag) {
				s.n, s.tag, s.state = 0, 0, stReasoning
				return s.reasoning(f[i+1:])
			}
		case s.tag == 0 && s.n < maxLead && isSpace(c):
			s.hold(c)
		default:
			return s.noTag(f[i:])
		}
	}
	return "", ""
}

// hold keeps one byte back while the start of the content is undecided.
func (s *Splitter) hold(c byte) {
	s.held[s.n] = c
	s.n++
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// noTag settles that the content has no opening tag: what was held back and
// the rest of f are answer in ModeTags and reasoning in ModeImplicitOpen.
// It runs once per stream, so the concatenation here is not on the hot path.
func (s *Splitter) noTag(f string) (reasoning, answer string) {
	rest := string(s.held[:s.n]) + f
	s.n, s.tag = 0, 0
	if s.mode == ModeTags {
		s.state = stAnswer
		return "", rest
	}
	s.state = stReasoning
	return s.reasoning(rest)
}

// reasoning emits reasoning up to the closing tag, holding back a suffix
// that may be the start of one.
func (s *Splitter) reasoning(f string) (reasoning, answer string) {
	var pre string
	if s.n > 0 {
		done, rest, ok := s.continueClose(f)
		if !ok {
			return "", ""
		}
		if done {
			return "", s.separator(rest)
		}
		// The held bytes were not a tag. Since '<' occurs only at the start
		// of the tag, no tag can begin inside them: they are plain text.
		pre = string(s.held[:s.n])
		s.n = 0
	}
	if i := strings.Index(f, closeTag); i >= 0 {
		s.state = stSeparator
		return join(pre, f[:i]), s.separator(f[i+len(closeTag):])
	}
	keep := partialClose(f)
	for j := range keep {
		s.held[j] = f[len(f)-keep+j]
	}
	s.n = keep
	return join(pre, f[:len(f)-keep]), ""
}

// continueClose matches f against the rest of a held-back partial closing
// tag. ok is false when all of f was held back; done is true when the tag
// is complete, with rest the text after it.
func (s *Splitter) continueClose(f string) (done bool, rest string, ok bool) {
	need := closeTag[s.n:]
	switch {
	case strings.HasPrefix(f, need):
		s.n, s.state = 0, stSeparator
		return true, f[len(need):], true
	case len(f) < len(need) && strings.HasPrefix(need, f):
		for j := range len(f) {
			s.held[s.n+j] = f[j]
		}
		s.n += len(f)
		return false, "", false
	}
	return false, "", true
}

// partialClose returns the length of the longest suffix of f that is a
// proper prefix of the closing tag.
func partialClose(f string) int {
	from := max(0, len(f)-len(closeTag)+1)
	i := strings.LastIndexByte(f[from:], '<')
	if i < 0 {
		return 0
	}
	tail := f[from+i:]
	if strings.HasPrefix(closeTag, tail) {
		return len(tail)
	}
	return 0
}

// separator drops the whitespace between "</think>" and the answer.
func (s *Splitter) separator(f string) string {
	f = strings.TrimLeft(f, spaces)
	if f != "" {
		s.state = stAnswer
	}
	return f
}

// join concatenates a rarely non-empty prefix without allocating when it
// is empty.
func join(pre, s string) string {
	if pre == "" {
		return s
	}
	return pre + s
}
