package openai

import (
	"fmt"
	"slices"
	"strconv"

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
	// ToolCallArgs replaces function.arguments of the tool calls with
	// these indexes (the "index" member, or the position in tool_calls);
	// a tool call that the object lacks is appended to tool_calls as
	// {"index":i,"function":{"arguments":...}}, which streaming clients
	// merge by index.
	ToolCallArgs map[int]string
}

func (e *DeltaEdit) noop() bool {
	return e.Content == nil && e.Reasoning == nil && !e.DropReasoning && !e.DropContent && !e.NullContent &&
		len(e.ToolCallArgs) == 0
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
	wroteTools := false
	eachMember(obj, func(name []byte, key, val, end int) {
		switch string(name) {
		case "tool_calls":
			if len(e.ToolCallArgs) == 0 || obj[val] != '[' {
				member(obj[key:end])
				return
			}
			member(obj[key:val])
			var terr error
			dst, terr = appendToolCalls(dst, obj[val:end], e.ToolCallArgs)
			if err == nil {
				err = terr
			}
			wroteTools = true
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
	if !wroteTools && len(e.ToolCallArgs) > 0 {
		member([]byte(`"tool_calls":`))
		var terr error
		dst, terr = appendToolCalls(dst, []byte("[]"), e.ToolCallArgs)
		if err == nil {
			err = terr
		}
	}
	return append(dst, '}'), err
}

// appendToolCalls appends the tool_calls array arr with the arguments of
// the tool calls named in set replaced, and the ones it lacks appended in
// index order.
func appendToolCalls(dst, arr []byte, set map[int]string) ([]byte, error) {
	dst = append(dst, '[')
	seen := make(map[int]bool, len(set))
	n := 0
	var err error
	eachElem(arr, func(elem []byte) {
		if n > 0 {
			dst = append(dst, ',')
		}
		index := n
		n++
		if idx, ok := memberInt(elem, "index"); ok {
			index = idx
		}
		args, edit := set[index]
		if !edit || len(elem) == 0 || elem[0] != '{' {
			dst = append(dst, elem...)
			return
		}
		seen[index] = true
		var ferr error
		dst, ferr = appendToolCall(dst, elem, args)
		if err == nil {
			err = ferr
		}
	})
	missing := make([]int, 0, len(set))
	for i := range set {
		if !seen[i] {
			missing = append(missing, i)
		}
	}
	slices.Sort(missing)
	for _, i := range missing {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, `{"index":`...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `,"function":{"arguments":`...)
		var qerr error
		if dst, qerr = jsontext.AppendQuote(dst, set[i]); err == nil {
			err = qerr
		}
		dst = append(dst, "}}"...)
	}
	return append(dst, ']'), err
}

// appendToolCall appends one tool call object with function.arguments set
// to args (function is added when absent).
func appendToolCall(dst, obj []byte, args string) ([]byte, error) {
	dst = append(dst, '{')
	n := 0
	var err error
	wrote := false
	sep := func() {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
	}
	eachMember(obj, func(name []byte, key, val, end int) {
		sep()
		if string(name) != "function" || obj[val] != '{' {
			dst = append(dst, obj[key:end]...)
			return
		}
		wrote = true
		dst = append(dst, obj[key:val]...)
		dst = append(dst, '{')
		fn := obj[val:end]
		m := 0
		set := false
		eachMember(fn, func(name []byte, key, val, end int) {
			if m > 0 {
				dst = append(dst, ',')
			}
			m++
			if string(name) == "arguments" {
				set = true
				dst = append(dst, fn[key:val]...)
				dst, err = jsontext.AppendQuote(dst, args)
				return
			}
			dst = append(dst, fn[key:end]...)
		})
		if !set {
			if m > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `"arguments":`...)
			dst, err = jsontext.AppendQuote(dst, args)
		}
		dst = append(dst, '}')
	})
	if !wrote {
		sep()
		dst = append(dst, `"function":{"arguments":`...)
		dst, err = jsontext.AppendQuote(dst, args)
		dst = append(dst, '}')
	}
	return append(dst, '}'), err
}

// eachElem calls fn with each element of the validated array arr.
func eachElem(arr []byte, fn func(elem []byte)) {
	s := getScanner(arr, 1<<30)
	defer putScanner(s)
	var a arrFrame
	if s.peek() != '[' || s.openArray(&a) != nil {
		return
	}
	for {
		ok, err := s.elem(&a)
		if err != nil || !ok {
			return
		}
		start := s.i
		if s.value() != nil {
			return
		}
		fn(arr[start:s.i])
	}
}

// memberInt returns the value of an integer member of the validated
// object obj.
func memberInt(obj []byte, want string) (int, bool) {
	v, found := 0, false
	eachMember(obj, func(name []byte, key, val, end int) {
		if string(name) != want || found {
			return
		}
		n, err := strconv.Atoi(string(obj[val:end]))
		v, found = n, err == nil
	})
	return v, found
}
