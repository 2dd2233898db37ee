package openai

import (
	"fmt"

	"github.com/go-json-experiment/json/jsontext"
)

// DeltaEdit changes the text of one choice, found by its "index" member.
type DeltaEdit struct {
	Index int
	// Content, if non-nil, becomes the content (delta.content,
	// message.content, or text for text completions); the member is added
	// if it was absent.
	Content *string
	// Reasoning, if non-nil, becomes the reasoning text, written to
	// whichever of reasoning_content and reasoning was present (both, if
	// both were), or added as reasoning_content.
	Reasoning *string
	// DropReasoning removes reasoning_content and reasoning.
	DropReasoning bool
	// DropContent removes the content member.
	DropContent bool
	// NullContent sets the content member to null, the shape DeepSeek uses
	// for a chunk that carries only reasoning.
	NullContent bool
}

func (e *DeltaEdit) noop() bool {
	return e.Content == nil && e.Reasoning == nil && !e.DropReasoning && !e.DropContent && !e.NullContent
}

// AppendChunkWithDeltas appends data, a streamed chunk, to dst with the
// delta of each choice named in set edited. Everything else is copied
// verbatim; an edited delta object is re-encoded member by member.
func AppendChunkWithDeltas(dst, data []byte, set []DeltaEdit) ([]byte, error) {
	return appendWithEdits(dst, data, set, "delta")
}

// AppendCompletionWithMessages is AppendChunkWithDeltas for a whole
// response: it edits choices[].message (or choices[].text).
func AppendCompletionWithMessages(dst, body []byte, set []DeltaEdit) ([]byte, error) {
	return appendWithEdits(dst, body, set, "message")
}

// span is a value to replace in the input.
type span struct {
	start, end int
	edit       *DeltaEdit
	text       bool // the value is a text completion's "text" string
}

// appendWithEdits finds the value to edit in each choice, then copies data
// with those values replaced.
func appendWithEdits(dst, data []byte, set []DeltaEdit, inner string) ([]byte, error) {
	if len(set) == 0 {
		return append(dst, data...), nil
	}
	var stack [4]span
	spans, err := findTargets(stack[:0], data, set, inner)
	if err != nil {
		return dst, responseError(err)
	}
	last := 0
	for _, sp := range spans {
		dst = append(dst, data[last:sp.start]...)
		if sp.text {
			dst, err = appendText(dst, sp.edit)
		} else {
			dst, err = appendDelta(dst, data[sp.start:sp.end], sp.edit)
		}
		if err != nil {
			return dst, fmt.Errorf("encode choice %d: %w", sp.edit.Index, err)
		}
		last = sp.end
	}
	return append(dst, data[last:]...), nil
}

// findTargets validates data and returns, in order, the spans of the values
// to rewrite: the inner object of each edited choice, or its "text".
func findTargets(spans []span, data []byte, set []DeltaEdit, inner string) ([]span, error) {
	s := getScanner(data, DefaultMaxDepth)
	defer putScanner(s)
	s.where = "response"
	if s.peek() != '{' {
		return nil, s.typeErr("a JSON object")
	}
	var o objFrame
	if err := s.openObject(&o); err != nil {
		return nil, err
	}
	for {
		name, ok, err := s.member(&o)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if string(name) != "choices" || s.peek() != '[' {
			if err := s.value(); err != nil {
				return nil, err
			}
			continue
		}
		if spans, err = choiceTargets(s, spans, set, inner); err != nil {
			return nil, err
		}
	}
	if s.ws(); s.i < len(s.b) {
		return nil, s.failf(CodeInvalidJSON, "unexpected data after the object at offset %d", s.i)
	}
	return spans, nil
}

// choiceTargets reads the choices array.
func choiceTargets(s *scanner, spans []span, set []DeltaEdit, inner string) ([]span, error) {
	var a arrFrame
	if err := s.openArray(&a); err != nil {
		return nil, err
	}
	for {
		ok, err := s.elem(&a)
		if err != nil || !ok {
			return spans, err
		}
		if s.peek() != '{' {
			if err := s.value(); err != nil {
				return nil, err
			}
			continue
		}
		sp, found, err := choiceTarget(s, set, inner)
		if err != nil {
			return nil, err
		}
		if found {
			spans = append(spans, sp)
		}
	}
}

// choiceTarget reads one choice and returns the span to rewrite, if the
// choice is edited. The index may come after the delta, so both are noted
// before deciding.
func choiceTarget(s *scanner, set []DeltaEdit, inner string) (span, bool, error) {
	var o objFrame
	if err := s.openObject(&o); err != nil {
		return span{}, false, err
	}
	index := 0
	var obj, text span
	hasObj, hasText := false, false
	for {
		name, ok, err := s.member(&o)
		if err != nil {
			return span{}, false, err
		}
		if !ok {
			break
		}
		start := s.i
		switch {
		case string(name) == "index" && isNumberStart(s.peek()):
			var isInt bool
			index, isInt, _, err = s.integer()
			if err == nil && !isInt {
				err = s.valueErr("an integer")
			}
		case string(name) == inner && s.peek() == '{':
			err = s.value()
			obj, hasObj = span{start: start, end: s.i}, true
		case string(name) == "text" && s.peek() == '"':
			err = s.value()
			text, hasText = span{start: start, end: s.i, text: true}, true
		default:
			err = s.value()
		}
		if err != nil {
			return span{}, false, err
		}
	}
	e := findEdit(set, index)
	switch {
	case e == nil || e.noop():
		return span{}, false, nil
	case hasObj:
		obj.edit = e
		return obj, true, nil
	case hasText && e.Content != nil:
		text.edit = e
		return text, true, nil
	}
	return span{}, false, nil
}

func findEdit(set []DeltaEdit, index int) *DeltaEdit {
	for i := range set {
		if set[i].Index == index {
			return &set[i]
		}
	}
	return nil
}

// appendText appends the new text of a text completion choice.
func appendText(dst []byte, e *DeltaEdit) ([]byte, error) {
	return jsontext.AppendQuote(dst, *e.Content)
}

// appendDelta appends the edited delta (or message) object.
func appendDelta(dst, obj []byte, e *DeltaEdit) ([]byte, error) {
	dst = append(dst, '{')
	n := 0
	var err error
	wroteContent, wroteReasoning := false, false
	quote := func(v string) {
		var qerr error
		dst, qerr = jsontext.AppendQuote(dst, v)
		if err == nil {
			err = qerr
		}
	}
	member := func(raw []byte) {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, raw...)
	}
	eachMember(obj, func(name []byte, key, val, end int) {
		switch string(name) {
		case "content":
			switch {
			case e.DropContent:
			case e.NullContent:
				member(obj[key:val])
				dst = append(dst, "null"...)
			case e.Content != nil:
				member(obj[key:val])
				quote(*e.Content)
			default:
				member(obj[key:end])
			}
			wroteContent = true
		case "reasoning_content", "reasoning":
			switch {
			case e.DropReasoning:
			case e.Reasoning != nil:
				member(obj[key:val])
				quote(*e.Reasoning)
				wroteReasoning = true
			default:
				member(obj[key:end])
			}
		default:
			member(obj[key:end])
		}
	})
	if !wroteReasoning && e.Reasoning != nil && !e.DropReasoning {
		member([]byte(`"reasoning_content":`))
		quote(*e.Reasoning)
	}
	if !wroteContent && !e.DropContent && (e.Content != nil || e.NullContent) {
		member([]byte(`"content":`))
		if e.NullContent {
			dst = append(dst, "null"...)
		} else {
			quote(*e.Content)
		}
	}
	return append(dst, '}'), err
}
