package openai

import "github.com/rampart-gw/rampart/internal/apierr"

// toolCalls reads an assistant's tool_calls: null or an array of objects,
// whose function.arguments, when present, must be strings.
func (d *reqDecoder) toolCalls(m *Message) error {
	s := d.s
	if s.null() {
		return nil
	}
	if s.peek() != '[' {
		return s.typeErr("an array of tool call objects")
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
		if err := d.objectWith("function", toolCallKeys, func() error { return d.function(m) }); err != nil {
			return err
		}
	}
}

// function reads a tool call's function object.
func (d *reqDecoder) function(m *Message) error {
	s := d.s
	if s.peek() != '{' {
		return s.typeErr("an object")
	}
	return d.objectWith("arguments", functionKeys, func() error {
		if s.peek() != '"' {
			return s.typeErr("a string")
		}
		args, err := d.textString()
		if !d.skipTexts {
			m.ToolCallArgs = append(m.ToolCallArgs, args)
		}
		return err
	})
}

// objectWith reads an object whose opening brace is next, calling read for
// the value of the member named want and skipping the others.
func (d *reqDecoder) objectWith(want string, decided []string, read func() error) error {
	s := d.s
	var o objFrame
	if err := s.openObject(&o); err != nil {
		return err
	}
	for {
		name, ok, err := s.member(&o)
		if err != nil || !ok {
			return err
		}
		if string(name) == want {
			err = read()
		} else if err = s.checkVariant(name, decided); err == nil {
			err = s.value()
		}
		if err != nil {
			return err
		}
	}
}

// texts reads a completions prompt or an embeddings input: a string, an
// array of strings, an array of integers (tokens) or an array of arrays of
// integers. It returns nil for token input.
func (d *reqDecoder) texts(field string) ([]string, error) {
	s := d.s
	const want = "a string, an array of strings or an array of token arrays"
	switch s.peek() {
	case '"':
		v, err := d.textString()
		if d.skipTexts {
			return nil, err
		}
		return []string{v}, err
	case '[':
	default:
		return nil, s.typeErr(want)
	}
	var a arrFrame
	if err := s.openArray(&a); err != nil {
		return nil, err
	}
	var out []string
	var kind byte // the first element's first byte decides the array's kind
	for {
		ok, err := s.elem(&a)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		c := s.peek()
		if kind == 0 {
			kind = c
		}
		switch {
		case c == '"' && kind == '"':
			v, err := d.textString()
			if err != nil {
				return nil, err
			}
			if !d.skipTexts {
				out = append(out, v)
			}
		case isNumberStart(c) && isNumberStart(kind):
			err = d.token()
		case c == '[' && kind == '[':
			err = d.tokens()
		default:
			err = s.typeErr("of the same kind as the first element: " + want)
		}
		if err != nil {
			return nil, err
		}
	}
	if a.n == 0 {
		return nil, apierr.BadParam(field, CodeInvalidValue, "'"+field+"' must not be empty")
	}
	return out, nil
}

func isNumberStart(c byte) bool { return c == '-' || c >= '0' && c <= '9' }

// token reads one token ID: a non-negative integer.
func (d *reqDecoder) token() error {
	s := d.s
	if !isNumberStart(s.peek()) {
		return s.typeErr("a token ID (an integer)")
	}
	v, isInt, tooBig, err := s.integer()
	if err == nil && (!isInt || v < 0 || tooBig) {
		return s.valueErr("a token ID (a non-negative integer)")
	}
	return err
}

// tokens reads an array of token IDs.
func (d *reqDecoder) tokens() error {
	s := d.s
	var a arrFrame
	if err := s.openArray(&a); err != nil {
		return err
	}
	for {
		ok, err := s.elem(&a)
		if err != nil || !ok {
			return err
		}
		if err := d.token(); err != nil {
			return err
		}
	}
}
