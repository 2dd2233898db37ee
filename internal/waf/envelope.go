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

// key classifies the object member names the envelope cares about.
type key uint8

const (
	keyOther     key = iota
	keyMessages      // top level: chat messages
	keyPrompt        // top level: completion prompt
	keyInput         // top level: embedding or responses input
	keyContent       // message: content, reasoning_content, reasoning, refusal
	keyArguments     // tool call function: arguments
)

func classify(raw []byte) key {
	name := string(raw) // the compiler does not allocate for a switch on it
	if bytes.IndexByte(raw, '\\') >= 0 {
		// An escaped name is compared unescaped, so "\u0063ontent" is
		// blanked like "content"; an invalid escape is an error later.
		if u, err := jsontext.AppendUnquote(nil, raw); err == nil {
			name = `"` + string(u) + `"`
		}
	}
	switch name {
	case `"messages"`:
		return keyMessages
	case `"prompt"`:
		return keyPrompt
	case `"input"`:
		return keyInput
	case `"content"`, `"reasoning_content"`, `"reasoning"`, `"refusal"`:
		return keyContent
	case `"arguments"`:
		return keyArguments
	}
	return keyOther
}

// envelopeState walks one JSON document, remembering the member name last
// read at each depth.
type envelopeState struct {
	dec  *jsontext.Decoder
	keys []key
	body []byte
	out  []byte
	last int
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

// Envelope returns a copy of a JSON request body with message contents
// replaced by empty strings: every string under messages[].content,
// reasoning_content, reasoning and refusal, tool call arguments, and every
// string under the top-level prompt and input. Everything else (model,
// roles, parameters, tool definitions, metadata) is kept byte for byte. When
// nothing is blanked it returns body itself. It fails on anything that is
// not exactly one valid JSON value with unique member names.
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
	s := envelopeState{dec: rd.dec, body: body, keys: make([]key, 0, 8)}
	if err := s.walk(); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if s.out == nil {
		return body, nil
	}
	return append(s.out, body[s.last:]...), nil
}

func (s *envelopeState) walk() error {
	for {
		var err error
		switch s.dec.PeekKind() {
		case '{', '[':
			if _, err = s.dec.ReadToken(); err == nil {
				s.keys = append(s.keys, keyOther)
			}
		case '}', ']':
			if _, err = s.dec.ReadToken(); err == nil {
				s.keys = s.keys[:len(s.keys)-1]
			}
		case 0:
			if _, err = s.dec.ReadToken(); err == nil {
				err = errors.New("not a JSON value")
			}
		default:
			err = s.scalar()
		}
		if err != nil {
			return err
		}
		if len(s.keys) == 0 && s.dec.InputOffset() > 0 {
			return s.end()
		}
	}
}

// end checks that nothing but white space follows the top-level value.
func (s *envelopeState) end() error {
	if _, err := s.dec.ReadToken(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("data after the top-level value")
		}
		return err
	}
	return nil
}

// scalar reads an object member name or a scalar value, blanking the value
// when it is message content.
func (s *envelopeState) scalar() error {
	d := len(s.keys)
	isName := false
	if d > 0 {
		k, n := s.dec.StackIndex(d)
		isName = k == '{' && n%2 == 0
	}
	raw, err := s.dec.ReadValue()
	if err != nil {
		return err
	}
	if isName {
		s.keys[d-1] = classify(raw)
		return nil
	}
	if raw.Kind() == '"' && len(raw) > 2 && s.isContent() {
		end := int(s.dec.InputOffset())
		start := end - len(raw)
		s.out = append(s.out, s.body[s.last:start]...)
		s.out = append(s.out, '"', '"')
		s.last = end
	}
	return nil
}

// isContent reports whether the string value about to be blanked sits under
// message content. keys[0] is the top-level member, keys[2] the member of a
// message object and the last key the member holding the value.
func (s *envelopeState) isContent() bool {
	if len(s.keys) == 0 {
		return false
	}
	switch s.keys[0] {
	case keyPrompt, keyInput:
		return true
	case keyMessages:
		if len(s.keys) < 3 {
			return false
		}
		return s.keys[2] == keyContent || s.keys[len(s.keys)-1] == keyArguments
	}
	return false
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
