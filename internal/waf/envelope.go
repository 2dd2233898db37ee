package waf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
)

// ctx is where in a chat request a value sits, as far as the envelope cares.
type ctx uint8

const (
	ctxTop       ctx = iota // the top-level object
	ctxOther                // anything not below
	ctxMessages             // the top-level messages array
	ctxMessage              // one message object
	ctxInMessage            // anything deeper in a message: tool calls, parts
	ctxTools                // anything in the top-level tools array
)

// member returns the context of a member's value and whether the member is
// prose to leave out: message contents, prompts and inputs, tool call
// arguments and tool descriptions.
func member(parent ctx, name string) (ctx, bool) {
	switch parent {
	case ctxTop:
		switch name {
		case "messages":
			return ctxMessages, false
		case "prompt", "input":
			return ctxOther, true
		case "tools", "functions":
			return ctxTools, false
		}
	case ctxMessage:
		switch name {
		case "content", "reasoning_content", "reasoning", "refusal":
			return ctxInMessage, true
		}
		return ctxInMessage, name == "arguments"
	case ctxInMessage:
		return ctxInMessage, name == "arguments"
	case ctxTools:
		return ctxTools, name == "description"
	}
	return ctxOther, false
}

// element returns the context of an array element.
func element(parent ctx) ctx {
	switch parent {
	case ctxMessages:
		return ctxMessage
	case ctxMessage, ctxInMessage:
		return ctxInMessage
	case ctxTools:
		return ctxTools
	}
	return ctxOther
}

// vocabulary are the string values of the chat API's enumerations (roles,
// part and tool types, schema types, effort levels). An exact match carries
// no payload, so it is left out of the envelope.
var vocabulary = map[string]bool{
	`"system"`: true, `"developer"`: true, `"user"`: true, `"assistant"`: true, `"tool"`: true,
	`"function"`: true, `"text"`: true, `"image_url"`: true, `"input_audio"`: true, `"file"`: true,
	`"json_object"`: true, `"json_schema"`: true, `"object"`: true, `"string"`: true, `"number"`: true,
	`"integer"`: true, `"boolean"`: true, `"array"`: true, `"null"`: true, `"auto"`: true,
	`"none"`: true, `"required"`: true, `"low"`: true, `"medium"`: true, `"high"`: true,
	`"minimal"`: true, `"enabled"`: true, `"disabled"`: true,
}

// envelopeState copies one JSON document into the envelope.
type envelopeState struct {
	dec *jsontext.Decoder
	out []byte
}

// reader is a pooled decoder with the buffer it reads from; the buffer
// aliases the body, so decoding copies nothing.
type reader struct {
	buf *bytes.Buffer
	dec *jsontext.Decoder
}

var readers = sync.Pool{New: func() any {
	b := new(bytes.Buffer)
	return &reader{buf: b, dec: jsontext.NewDecoder(b)}
}}

// Envelope returns what the rules see of a JSON request body: its structure
// without the prose. Left out are message contents (content,
// reasoning_content, reasoning, refusal), tool call arguments, the top-level
// prompt and input, and tool descriptions, which go to the prompt guards and
// DLP; numbers, booleans and nulls, and strings of the API's vocabulary
// ("user", "text", ...), which carry no payload; and repeated array
// elements. What remains (model, names, IDs, tool names and schemas,
// metadata, stop sequences, ...) is copied byte for byte, without white
// space. Every left-out value would cost the rules as much as a real one.
// Envelope fails on anything that is not exactly one valid JSON value with
// unique member names.
func Envelope(body []byte) ([]byte, error) {
	rd := readers.Get().(*reader)
	defer func() {
		// Drop the reference to body before pooling.
		*rd.buf = bytes.Buffer{}
		rd.dec.Reset(rd.buf)
		readers.Put(rd)
	}()
	*rd.buf = *bytes.NewBuffer(body)
	rd.dec.Reset(rd.buf)
	s := envelopeState{dec: rd.dec, out: make([]byte, 0, 256)}
	if _, err := s.value(ctxTop); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if _, err := s.dec.ReadToken(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("data after the top-level value")
		}
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return s.out, nil
}

// value copies the next value and reports whether it wrote anything; a
// value that carries nothing to inspect is not written.
func (s *envelopeState) value(c ctx) (bool, error) {
	switch s.dec.PeekKind() {
	case '{':
		return s.object(c)
	case '[':
		return s.array(c)
	}
	raw, err := s.dec.ReadValue()
	if err != nil {
		return false, err
	}
	if raw.Kind() != '"' || vocabulary[string(raw)] {
		return c == ctxTop && s.write(raw), nil
	}
	return s.write(raw), nil
}

func (s *envelopeState) write(raw []byte) bool {
	s.out = append(s.out, raw...)
	return true
}

func (s *envelopeState) object(c ctx) (bool, error) {
	if _, err := s.dec.ReadToken(); err != nil {
		return false, err
	}
	open := len(s.out)
	s.out = append(s.out, '{')
	n := 0
	for s.dec.PeekKind() != '}' {
		raw, err := s.dec.ReadValue()
		if err != nil {
			return false, err
		}
		child, drop := member(c, memberName(raw))
		if drop {
			if err := s.dec.SkipValue(); err != nil {
				return false, err
			}
			continue
		}
		mark := len(s.out)
		if n > 0 {
			s.out = append(s.out, ',')
		}
		s.out = append(append(s.out, raw...), ':')
		wrote, err := s.value(child)
		if err != nil {
			return false, err
		}
		if !wrote {
			s.out = s.out[:mark]
			continue
		}
		n++
	}
	return s.close(c, open, n, '}')
}

func (s *envelopeState) array(c ctx) (bool, error) {
	if _, err := s.dec.ReadToken(); err != nil {
		return false, err
	}
	open := len(s.out)
	s.out = append(s.out, '[')
	var seen map[string]bool
	n := 0
	for s.dec.PeekKind() != ']' {
		mark := len(s.out)
		if n > 0 {
			s.out = append(s.out, ',')
		}
		start := len(s.out)
		wrote, err := s.value(element(c))
		if err != nil {
			return false, err
		}
		if !wrote || seen[string(s.out[start:])] {
			s.out = s.out[:mark]
			continue
		}
		if seen == nil {
			seen = make(map[string]bool)
		}
		seen[string(s.out[start:])] = true
		n++
	}
	return s.close(c, open, n, ']')
}

// close reads the end of a container. An empty container is unwritten,
// except at the top level, which is always a document.
func (s *envelopeState) close(c ctx, open, n int, end byte) (bool, error) {
	if _, err := s.dec.ReadToken(); err != nil {
		return false, err
	}
	if n == 0 && c != ctxTop {
		s.out = s.out[:open]
		return false, nil
	}
	s.out = append(s.out, end)
	return true, nil
}

// memberName is the unquoted name of a member, for comparison only.
func memberName(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	u, err := jsontext.AppendUnquote(nil, raw)
	if err != nil {
		return ""
	}
	return string(u)
}

// jsonPlus is Coraza's rule 200006 pattern for structured JSON types.
var jsonPlus = regexp.MustCompile(`^application/[a-z0-9.-]+[+]json`)

// isJSON reports whether Coraza parses a body with this Content-Type as JSON:
// it mirrors the patterns of rules 200001 and 200006 exactly, so that the
// envelope is built for every body Coraza would read as JSON.
func isJSON(contentType string) bool {
	ct := strings.ToLower(contentType)
	return strings.HasPrefix(ct, "application/json") || jsonPlus.MatchString(ct)
}

// onlyModel reports whether env is exactly {"model":"<model>"}, the model
// written without escapes.
func onlyModel(env []byte, model string) bool {
	const pre, post = `{"model":"`, `"}`
	if len(env) != len(pre)+len(model)+len(post) || string(env[:len(pre)]) != pre ||
		string(env[len(pre):len(pre)+len(model)]) != model || string(env[len(pre)+len(model):]) != post {
		return false
	}
	for i := 0; i < len(model); i++ {
		if c := model[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
