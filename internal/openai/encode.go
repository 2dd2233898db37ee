package openai

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Edits are the changes Rampart makes to a request before it goes upstream.
// The zero value changes nothing.
type Edits struct {
	// Model, if non-empty and different from Request.Model, replaces "model".
	Model string
	// ForceIncludeUsage, for a streaming request, makes sure that
	// stream_options.include_usage is true, keeping the other members of
	// stream_options, so that the final chunk reports usage.
	ForceIncludeUsage bool
	// MaxTokens, if positive, sets the limit: each of max_tokens and
	// max_completion_tokens that was present is set to it, and max_tokens is
	// added when neither was.
	MaxTokens int
	// StripReasoning removes reasoning_content and reasoning from every
	// assistant message in the history (deepseek-reasoner rejects them).
	StripReasoning bool
	// SetContent replaces messages[i].content with a string, as DLP masking
	// does. An array content is replaced as a whole by the string.
	SetContent map[int]string
	// SetPrompt, if non-nil, replaces the completions prompt with these
	// strings, one for each string of Request.Prompt, as DLP masking does;
	// a string prompt stays a string.
	SetPrompt []string
	// SetInput is SetPrompt for the embeddings input.
	SetInput []string
	// SystemNote, if non-empty, is added to the system prompt: appended
	// after a blank line to the first system or developer message when its
	// content is a string (after SetContent), otherwise sent as a new system
	// message before the first message (the guards' canary).
	SystemNote string
}

// errReleased is the error of building a body from a released request.
var errReleased = errors.New("the request was released; no upstream body can be built from it")

// AppendUpstreamBody appends the body to send upstream to dst. With no
// effective edit it appends Body unchanged. Otherwise it splices: members
// that are not edited are copied byte for byte, in their order; edited
// members are re-encoded, and added members go at the end of their object.
// Whitespace between the members of an edited object is not kept.
func (r *Request) AppendUpstreamBody(dst []byte, e Edits) ([]byte, error) {
	if r.Body == nil {
		return dst, errReleased
	}
	for i := range e.SetContent {
		if i < 0 || i >= len(r.Messages) {
			return dst, fmt.Errorf("set content of message %d: the request has %d messages", i, len(r.Messages))
		}
	}
	if e.SetPrompt != nil && len(e.SetPrompt) != len(r.Prompt) {
		return dst, fmt.Errorf("set prompt: %d strings for a prompt of %d", len(e.SetPrompt), len(r.Prompt))
	}
	if e.SetInput != nil && len(e.SetInput) != len(r.Input) {
		return dst, fmt.Errorf("set input: %d strings for an input of %d", len(e.SetInput), len(r.Input))
	}
	p := r.plan(e)
	if !p.any() {
		return append(dst, r.Body...), nil
	}
	return r.appendEdited(dst, e, p)
}

// plan says which members an Edits actually changes.
type plan struct {
	model, usage, maxTokens, messages, prompt, input bool
}

func (p plan) any() bool {
	return p.model || p.usage || p.maxTokens || p.messages || p.prompt || p.input
}

func (r *Request) plan(e Edits) plan {
	var p plan
	p.model = e.Model != "" && e.Model != r.Model
	p.usage = e.ForceIncludeUsage && r.Stream && !r.IncludeUsage
	p.maxTokens = e.MaxTokens > 0 && (e.MaxTokens != r.MaxTokens || !r.hasMaxTokens && !r.hasMaxCompletionTokens)
	p.messages = e.StripReasoning && r.hasReasoning() || e.SystemNote != ""
	for i, c := range e.SetContent {
		m := &r.Messages[i]
		if !m.contentIsString || m.Content != c {
			p.messages = true
		}
	}
	p.prompt = e.SetPrompt != nil && !slices.Equal(e.SetPrompt, r.Prompt)
	p.input = e.SetInput != nil && !slices.Equal(e.SetInput, r.Input)
	return p
}

func (r *Request) hasReasoning() bool {
	for i := range r.Messages {
		if r.Messages[i].HasReasoning {
			return true
		}
	}
	return false
}

// appendEdited rebuilds the top-level object with the planned edits.
func (r *Request) appendEdited(dst []byte, e Edits, p plan) ([]byte, error) {
	b := r.Body
	dst = append(dst, '{')
	n := 0
	sep := func() {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
	}
	var err error
	seenOptions, wroteMax := false, false
	// A max_tokens member that is null counts as absent, but is the one to
	// set, so that the body does not get a second max_tokens.
	noLimit := !r.hasMaxTokens && !r.hasMaxCompletionTokens
	for _, m := range r.members {
		sep()
		switch {
		case m.id == fieldModel && p.model:
			dst = append(dst, b[m.key:m.val]...)
			if dst, err = jsontext.AppendQuote(dst, e.Model); err != nil {
				return dst, fmt.Errorf("encode model: %w", err)
			}
		case m.id == fieldStreamOptions && p.usage:
			seenOptions = true
			dst = append(dst, b[m.key:m.val]...)
			dst = appendStreamOptions(dst, b[m.val:m.end])
		case p.maxTokens && (m.id == fieldMaxTokens && (r.hasMaxTokens || noLimit) ||
			m.id == fieldMaxCompletionTokens && r.hasMaxCompletionTokens):
			wroteMax = true
			dst = append(dst, b[m.key:m.val]...)
			dst = strconv.AppendInt(dst, int64(e.MaxTokens), 10)
		case m.id == fieldMessages && p.messages:
			dst = append(dst, b[m.key:m.val]...)
			if dst, err = r.appendMessages(dst, e); err != nil {
				return dst, err
			}
		case m.id == fieldPrompt && p.prompt:
			dst = appendTexts(append(dst, b[m.key:m.val]...), b[m.val] == '"', e.SetPrompt)
		case m.id == fieldInput && p.input:
			dst = appendTexts(append(dst, b[m.key:m.val]...), b[m.val] == '"', e.SetInput)
		default:
			dst = append(dst, b[m.key:m.end]...)
		}
	}
	if p.usage && !seenOptions {
		sep()
		dst = append(dst, `"stream_options":{"include_usage":true}`...)
	}
	if p.maxTokens && !wroteMax {
		sep()
		dst = append(dst, `"max_tokens":`...)
		dst = strconv.AppendInt(dst, int64(e.MaxTokens), 10)
	}
	return append(dst, '}'), nil
}

// appendTexts appends a prompt or an input: one string when the original
// was a string, otherwise an array of strings.
func appendTexts(dst []byte, single bool, texts []string) []byte {
	if single && len(texts) == 1 {
		dst, _ = jsontext.AppendQuote(dst, texts[0])
		return dst
	}
	dst = append(dst, '[')
	for i, t := range texts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst, _ = jsontext.AppendQuote(dst, t)
	}
	return append(dst, ']')
}

func isNull(v []byte) bool { return string(v) == "null" }

// appendStreamOptions appends stream_options with include_usage set to true,
// keeping its other members. v is the validated original value.
func appendStreamOptions(dst, v []byte) []byte {
	if isNull(v) {
		return append(dst, `{"include_usage":true}`...)
	}
	dst = append(dst, '{')
	n := 0
	found := false
	eachMember(v, func(name []byte, key, val, end int) {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		if string(name) == "include_usage" {
			found = true
			dst = append(dst, v[key:val]...)
			dst = append(dst, "true"...)
			return
		}
		dst = append(dst, v[key:end]...)
	})
	if !found {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"include_usage":true`...)
	}
	return append(dst, '}')
}

// appendMessages appends the messages array, rebuilding the messages that
// are edited and copying the others verbatim.
func (r *Request) appendMessages(dst []byte, e Edits) ([]byte, error) {
	dst = append(dst, '[')
	note := -1 // the message that takes the system note
	if e.SystemNote != "" {
		if note = r.systemNoteTarget(); note < 0 {
			var err error
			dst = append(dst, `{"role":"system","content":`...)
			if dst, err = jsontext.AppendQuote(dst, e.SystemNote); err != nil {
				return dst, fmt.Errorf("encode system note: %w", err)
			}
			dst = append(dst, '}')
			if len(r.Messages) > 0 {
				dst = append(dst, ',')
			}
		}
	}
	for i := range r.Messages {
		if i > 0 {
			dst = append(dst, ',')
		}
		m := &r.Messages[i]
		raw := r.Body[m.start:m.end]
		content, setContent := e.SetContent[i]
		if i == note {
			if !setContent {
				content = m.Content
			}
			content, setContent = content+"\n\n"+e.SystemNote, true
		}
		strip := e.StripReasoning && m.HasReasoning
		if !strip && (!setContent || m.contentIsString && m.Content == content) {
			dst = append(dst, raw...)
			continue
		}
		var err error
		if dst, err = appendMessage(dst, raw, strip, setContent, content); err != nil {
			return dst, fmt.Errorf("encode messages[%d]: %w", i, err)
		}
	}
	return append(dst, ']'), nil
}

// systemNoteTarget is the index of the first system or developer message
// when its content is a string, else -1.
func (r *Request) systemNoteTarget() int {
	for i := range r.Messages {
		if m := &r.Messages[i]; m.Role == "system" || m.Role == "developer" {
			if m.contentIsString {
				return i
			}
			return -1
		}
	}
	return -1
}

// appendMessage appends one rebuilt message object.
func appendMessage(dst, raw []byte, strip, setContent bool, content string) ([]byte, error) {
	dst = append(dst, '{')
	n := 0
	var err error
	eachMember(raw, func(name []byte, key, val, end int) {
		if strip && (string(name) == "reasoning_content" || string(name) == "reasoning") {
			return
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		if setContent && string(name) == "content" {
			dst = append(dst, raw[key:val]...)
			dst, err = jsontext.AppendQuote(dst, content)
			setContent = false
			return
		}
		dst = append(dst, raw[key:end]...)
	})
	if setContent {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `"content":`...)
		dst, err = jsontext.AppendQuote(dst, content)
	}
	return append(dst, '}'), err
}

// eachMember calls fn for each member of the validated object obj with the
// member's decoded name, the offsets of its name and value, and the end of
// its value.
func eachMember(obj []byte, fn func(name []byte, key, val, end int)) {
	s := getScanner(obj, 1<<30)
	defer putScanner(s)
	var o objFrame
	if s.peek() != '{' || s.openObject(&o) != nil {
		return
	}
	for {
		name, ok, err := s.member(&o)
		if err != nil || !ok {
			return
		}
		key, val := s.keyStart, s.i
		if s.value() != nil {
			return
		}
		fn(name, key, val, s.i)
	}
}
