package openai

import (
	"fmt"
	"strings"

	"github.com/rampart-gw/rampart/internal/apierr"
)

// reqDecoder holds the state of one Decode call.
type reqDecoder struct {
	s    *scanner
	r    *Request
	seen [fieldInput + 1]bool
	// text collects the text parts of one array content.
	text []byte
	// skipTexts: texts are checked but not kept (Limits.SkipTexts).
	skipTexts bool
}

// textString reads a string value that is one of the request's texts: the
// string, or "" at no cost when the decoder does not keep texts.
func (d *reqDecoder) textString() (string, error) {
	if d.skipTexts {
		_, _, _, err := d.s.str()
		return "", err
	}
	return d.s.strString()
}

// top reads the top-level object and everything after it.
func (d *reqDecoder) top() error {
	s := d.s
	switch c := s.peek(); {
	case s.i >= len(s.b):
		return apierr.BadParam("", CodeInvalidJSON, "the request body is empty")
	case c == '[' || c == '"' || c == 't' || c == 'f' || c == 'n' || c == '-' || c >= '0' && c <= '9':
		return apierr.BadParam("", CodeInvalidType, "the request body must be a JSON object")
	case c != '{':
		return s.unexpected()
	}
	var o objFrame
	if err := s.openObject(&o); err != nil {
		return err
	}
	for {
		name, ok, err := s.member(&o)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		m := member{key: s.keyStart, val: s.i}
		if m.id, err = d.topMember(name); err != nil {
			return err
		}
		m.end = s.i
		d.r.members = append(d.r.members, m)
	}
	if s.ws(); s.i < len(s.b) {
		return apierr.BadParam("", CodeInvalidJSON, fmt.Sprintf(
			"the request body is not valid JSON: unexpected data after the top-level object at offset %d", s.i))
	}
	return nil
}

// topMember reads the value of the top-level member name.
func (d *reqDecoder) topMember(name []byte) (fieldID, error) {
	id := topField(name)
	if id == fieldOther {
		if err := d.s.checkVariant(name, topKeys); err != nil {
			return id, err
		}
		return id, d.s.value()
	}
	d.seen[id] = true
	var err error
	switch id {
	case fieldModel:
		err = d.model()
	case fieldStream:
		err = d.stream()
	case fieldStreamOptions:
		err = d.streamOptions()
	case fieldMessages:
		err = d.messages()
	case fieldMaxTokens, fieldMaxCompletionTokens:
		err = d.maxTokens(id)
	case fieldTools:
		err = d.tools()
	case fieldPrompt:
		d.r.Prompt, err = d.texts("prompt")
	case fieldInput:
		d.r.Input, err = d.texts("input")
	}
	return id, err
}

func topField(name []byte) fieldID {
	switch string(name) {
	case "model":
		return fieldModel
	case "stream":
		return fieldStream
	case "stream_options":
		return fieldStreamOptions
	case "messages":
		return fieldMessages
	case "max_tokens":
		return fieldMaxTokens
	case "max_completion_tokens":
		return fieldMaxCompletionTokens
	case "tools":
		return fieldTools
	case "prompt":
		return fieldPrompt
	case "input":
		return fieldInput
	}
	return fieldOther
}

func (d *reqDecoder) model() error {
	s := d.s
	if s.peek() != '"' {
		return s.typeErr("a string")
	}
	model, err := s.strString()
	if err != nil {
		return err
	}
	if model == "" {
		return s.valueErr("a non-empty string")
	}
	// The model outlives the request in records and metrics; copy it so
	// that it does not keep the body's copy alive (without that copy,
	// strString's result is already a string of its own).
	if s.text != "" {
		model = strings.Clone(model)
	}
	d.r.Model = model
	return nil
}

func (d *reqDecoder) stream() error {
	v, ok, err := d.s.boolean()
	if !ok {
		return d.s.typeErr("a boolean")
	}
	d.r.Stream = v
	return err
}

func (d *reqDecoder) streamOptions() error {
	s := d.s
	if s.null() {
		return nil
	}
	if s.peek() != '{' {
		return s.typeErr("an object")
	}
	var o objFrame
	if err := s.openObject(&o); err != nil {
		return err
	}
	for {
		name, ok, err := s.member(&o)
		if err != nil || !ok {
			return err
		}
		if string(name) != "include_usage" {
			if err := s.checkVariant(name, streamOptionsKeys); err != nil {
				return err
			}
			if err := s.value(); err != nil {
				return err
			}
			continue
		}
		v, ok, err := s.boolean()
		if !ok {
			return s.typeErr("a boolean")
		}
		if err != nil {
			return err
		}
		d.r.IncludeUsage = v
	}
}

// maxTokens reads max_tokens or max_completion_tokens. Only plain integers
// are accepted: 10.0 and 1e3 are rejected because upstreams disagree on
// whether they are integers.
func (d *reqDecoder) maxTokens(id fieldID) error {
	s := d.s
	if s.null() {
		return nil
	}
	if c := s.peek(); c != '-' && (c < '0' || c > '9') {
		return s.typeErr("an integer")
	}
	v, isInt, tooBig, err := s.integer()
	switch {
	case err != nil:
		return err
	case !isInt:
		return s.typeErr("an integer (write it without a fraction or exponent)")
	case v < 1:
		return s.valueErr("at least 1")
	case tooBig:
		return s.valueErr(fmt.Sprintf("at most %d", maxInt))
	}
	if d.r.hasMaxTokens || d.r.hasMaxCompletionTokens {
		if v != d.r.MaxTokens {
			return apierr.BadParam(s.param(), CodeInvalidValue,
				"'max_tokens' and 'max_completion_tokens' are both set to different values; send only one")
		}
	}
	d.r.MaxTokens = v
	if id == fieldMaxTokens {
		d.r.hasMaxTokens = true
	} else {
		d.r.hasMaxCompletionTokens = true
	}
	return nil
}

// tools reads the tools array: null, or an array of objects.
func (d *reqDecoder) tools() error {
	s := d.s
	if s.null() {
		return nil
	}
	if s.peek() != '[' {
		return s.typeErr("an array of tool objects")
	}
	var a arrFrame
	if err := s.openArray(&a); err != nil {
		return err
	}
	for {
		ok, err := s.elem(&a)
		if err != nil || !ok {
			return err
		}
		if s.peek() != '{' {
			return s.typeErr("an object")
		}
		if err := s.value(); err != nil {
			return err
		}
		d.r.HasTools = true
	}
}
