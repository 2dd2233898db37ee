package openai

import "strconv"

// top reads the response object. Unknown members are validated and skipped.
func (c *Chunk) top() error {
	s := &c.s
	if s.peek() != '{' {
		return s.typeErr("a JSON object")
	}
	var o objFrame
	if err := s.openObject(&o); err != nil {
		return err
	}
	isError := false
	for {
		name, ok, err := s.member(&o)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch string(name) {
		case "choices":
			err = c.choices()
		case "usage":
			err = c.readUsage()
		case "model":
			err = c.model()
		case "error":
			err = c.readError()
		case "object":
			var b []byte
			if b, err = c.optBytes(); err == nil && string(b) == "error" {
				isError = true
			}
		default:
			err = s.value()
		}
		if err != nil {
			return err
		}
	}
	if s.ws(); s.i < len(s.b) {
		return s.failf(CodeInvalidJSON, "unexpected data after the object at offset %d", s.i)
	}
	if isError && c.Error == nil {
		// vLLM and others have sent {"object":"error","message":...} at the
		// top level; read it again as an error object.
		return c.topError()
	}
	return nil
}

// topError reads an error object that is the whole response.
func (c *Chunk) topError() error {
	c.s.reset(c.s.b, DefaultMaxDepth)
	c.s.where = "response"
	return c.readError()
}

// model reads the model name, keeping the previous string when it is the
// same, which it is for every chunk of a stream.
func (c *Chunk) model() error {
	b, err := c.optBytes()
	if err == nil && string(b) != c.Model {
		c.Model = string(b)
	}
	return err
}

// optBytes reads a string or null; the bytes are valid until the next read.
func (c *Chunk) optBytes() ([]byte, error) {
	s := &c.s
	if s.null() {
		return nil, nil
	}
	if s.peek() != '"' {
		return nil, s.typeErr("a string or null")
	}
	return s.strScratch()
}

// optString reads a string or null and reports whether it was a string.
func (c *Chunk) optString() (string, bool, error) {
	s := &c.s
	if s.null() {
		return "", false, nil
	}
	if s.peek() != '"' {
		return "", false, s.typeErr("a string or null")
	}
	v, err := s.strString()
	return v, true, err
}

// each calls fn for each member of the object or null that is next.
func (c *Chunk) each(fn func(name []byte) error) error {
	s := &c.s
	if s.null() {
		return nil
	}
	if s.peek() != '{' {
		return s.typeErr("an object or null")
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
		if err := fn(name); err != nil {
			return err
		}
	}
}

// elems calls fn for each element of the array or null that is next.
func (c *Chunk) elems(fn func() error) error {
	s := &c.s
	if s.null() {
		return nil
	}
	if s.peek() != '[' {
		return s.typeErr("an array or null")
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
		if err := fn(); err != nil {
			return err
		}
	}
}

func (c *Chunk) choices() error {
	return c.elems(func() error {
		ch := c.addChoice()
		return c.each(func(name []byte) error { return c.choiceMember(ch, name) })
	})
}

func (c *Chunk) choiceMember(ch *ChunkChoice, name []byte) error {
	var err error
	switch string(name) {
	case "index":
		ch.Index, err = c.count()
	case "delta", "message":
		err = c.each(func(name []byte) error { return c.deltaMember(ch, name) })
	case "text":
		ch.Content, ch.HasContent, err = c.optString()
	case "finish_reason":
		var b []byte
		if b, err = c.optBytes(); err == nil {
			ch.FinishReason = finishReason(b)
		}
	default:
		err = c.s.value()
	}
	return err
}

// finishReason returns the common reasons as constants, to save an
// allocation on the last chunk.
func finishReason(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "stop":
		return "stop"
	case "length":
		return "length"
	case "tool_calls":
		return "tool_calls"
	case "content_filter":
		return "content_filter"
	}
	return string(b)
}

func (c *Chunk) deltaMember(ch *ChunkChoice, name []byte) error {
	var err error
	switch string(name) {
	case "content":
		ch.Content, ch.HasContent, err = c.optString()
	case "reasoning_content", "reasoning":
		var v string
		var ok bool
		if v, ok, err = c.optString(); ok {
			// Both may be present (vLLM has sent both with the same text);
			// keep the first non-null one.
			if !ch.HasReasoning {
				ch.Reasoning, ch.HasReasoning = v, true
			}
		}
	case "tool_calls":
		pos := 0
		err = c.elems(func() error {
			index, args, hasArgs := pos, "", false
			pos++
			err := c.each(func(name []byte) error {
				switch string(name) {
				case "index":
					var err error
					index, err = c.count()
					return err
				case "function":
				default:
					return c.s.value()
				}
				return c.each(func(name []byte) error {
					if string(name) != "arguments" {
						return c.s.value()
					}
					v, ok, err := c.optString()
					if ok {
						args, hasArgs = v, true
					}
					return err
				})
			})
			if hasArgs {
				ch.ToolCallArgs = append(ch.ToolCallArgs, args)
				ch.ToolCallIndex = append(ch.ToolCallIndex, index)
			}
			return err
		})
	default:
		err = c.s.value()
	}
	return err
}

// count reads a non-negative integer or null.
func (c *Chunk) count() (int, error) {
	s := &c.s
	if s.null() {
		return 0, nil
	}
	if !isNumberStart(s.peek()) {
		return 0, s.typeErr("an integer")
	}
	v, isInt, tooBig, err := s.integer()
	if err == nil && (!isInt || v < 0 || tooBig) {
		return 0, s.valueErr("a non-negative integer")
	}
	return v, err
}

func (c *Chunk) readUsage() error {
	u := &c.usage
	*u = zeroUsage
	present := false
	err := c.each(func(name []byte) error {
		present = true
		var err error
		switch string(name) {
		case "prompt_tokens":
			u.PromptTokens, err = c.count()
		case "completion_tokens":
			u.CompletionTokens, err = c.count()
		case "total_tokens":
			u.TotalTokens, err = c.count()
		case "prompt_cache_hit_tokens":
			// DeepSeek reports cached prompt tokens here.
			u.CachedTokens, err = c.count()
		case "completion_tokens_details":
			err = c.each(func(name []byte) error {
				if string(name) == "reasoning_tokens" {
					var e error
					u.ReasoningTokens, e = c.count()
					return e
				}
				return c.s.value()
			})
		case "prompt_tokens_details":
			err = c.each(func(name []byte) error {
				if string(name) == "cached_tokens" {
					var e error
					u.CachedTokens, e = c.count()
					return e
				}
				return c.s.value()
			})
		default:
			err = c.s.value()
		}
		return err
	})
	if present {
		c.Usage = u
	}
	return err
}

func (c *Chunk) readError() error {
	e := &c.err
	*e = UpstreamError{}
	present := false
	err := c.each(func(name []byte) error {
		present = true
		var err error
		switch string(name) {
		case "message":
			e.Message, _, err = c.optString()
		case "type":
			e.Type, _, err = c.optString()
		case "param":
			e.Param, _, err = c.optString()
		case "code":
			e.Code, err = c.code()
		default:
			err = c.s.value()
		}
		return err
	})
	if present {
		c.Error = e
	}
	return err
}

// code reads an error code: a string, an integer or null.
func (c *Chunk) code() (string, error) {
	s := &c.s
	if isNumberStart(s.peek()) {
		v, isInt, _, err := s.integer()
		if err != nil || !isInt {
			return "", err
		}
		return strconv.Itoa(v), nil
	}
	v, _, err := c.optString()
	return v, err
}
