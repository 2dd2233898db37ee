package openai

import "github.com/rampart-gw/rampart/internal/apierr"

// Roles a message may have; the decoder returns these constants so that a
// role costs no allocation.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
	RoleDeveloper = "developer"
	RoleFunction  = "function"
)

func knownRole(b []byte) (string, bool) {
	switch string(b) {
	case RoleSystem:
		return RoleSystem, true
	case RoleUser:
		return RoleUser, true
	case RoleAssistant:
		return RoleAssistant, true
	case RoleTool:
		return RoleTool, true
	case RoleDeveloper:
		return RoleDeveloper, true
	case RoleFunction:
		return RoleFunction, true
	}
	return "", false
}

// messages reads the messages array: a non-empty array of message objects.
func (d *reqDecoder) messages() error {
	s := d.s
	if s.peek() != '[' {
		return s.typeErr("a non-empty array of message objects")
	}
	var a arrFrame
	if err := s.openArray(&a); err != nil {
		return err
	}
	// Most requests carry a system prompt and a question or two; room for
	// four covers them in one allocation, and longer ones grow.
	d.r.Messages = make([]Message, 0, 4)
	for {
		ok, err := s.elem(&a)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if s.peek() != '{' {
			return s.typeErr("an object")
		}
		d.r.Messages = append(d.r.Messages, Message{start: s.i})
		m := &d.r.Messages[len(d.r.Messages)-1]
		if err := d.message(m); err != nil {
			return err
		}
		m.end = s.i
	}
	if len(d.r.Messages) == 0 {
		return apierr.BadParam("messages", CodeInvalidValue, "'messages' must not be empty")
	}
	return nil
}

// message reads one message object.
func (d *reqDecoder) message(m *Message) error {
	s := d.s
	var o objFrame
	if err := s.openObject(&o); err != nil {
		return err
	}
	hasRole, hasReasoning := false, false
	for {
		name, ok, err := s.member(&o)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch string(name) {
		case "role":
			hasRole = true
			err = d.role(m)
		case "content":
			err = d.content(m)
		case "name":
			m.Name, err = d.optString()
		case "tool_calls":
			err = d.toolCalls(m)
		case "reasoning_content", "reasoning":
			hasReasoning = true
			_, err = d.optString()
		default:
			if err = s.checkVariant(name, messageKeys); err == nil {
				err = s.value()
			}
		}
		if err != nil {
			return err
		}
	}
	if !hasRole {
		p := s.param()
		if p != "" {
			p += "."
		}
		p += "role"
		return apierr.BadParam(p, CodeMissingRequired, "'"+p+"' is required")
	}
	m.HasReasoning = hasReasoning && m.Role == RoleAssistant
	return nil
}

func (d *reqDecoder) role(m *Message) error {
	s := d.s
	if s.peek() != '"' {
		return s.typeErr("a string")
	}
	b, err := s.strScratch()
	if err != nil {
		return err
	}
	role, ok := knownRole(b)
	if !ok {
		return s.valueErr("one of system, user, assistant, tool, developer, function")
	}
	m.Role = role
	return nil
}

// optString reads a string or null ("" for null).
func (d *reqDecoder) optString() (string, error) {
	s := d.s
	if s.null() {
		return "", nil
	}
	if s.peek() != '"' {
		return "", s.typeErr("a string or null")
	}
	return d.textString()
}

// content reads a message content: a string, null, or an array of parts,
// each an object with a string "type". The text of "text" parts is
// concatenated; other parts are validated and kept in the body.
func (d *reqDecoder) content(m *Message) error {
	s := d.s
	switch s.peek() {
	case 'n':
		return s.literal("null")
	case '"':
		var err error
		m.Content, err = d.textString()
		m.contentIsString = true
		return err
	case '[':
	default:
		return s.typeErr("a string, null or an array of content parts")
	}
	var a arrFrame
	if err := s.openArray(&a); err != nil {
		return err
	}
	d.text = d.text[:0]
	for {
		ok, err := s.elem(&a)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if s.peek() != '{' {
			return s.typeErr("an object")
		}
		if err := d.part(); err != nil {
			return err
		}
	}
	if !d.skipTexts {
		m.Content = string(d.text)
	}
	return nil
}

// part reads one content part and appends its text, if it is a text part.
func (d *reqDecoder) part() error {
	s := d.s
	var o objFrame
	if err := s.openObject(&o); err != nil {
		return err
	}
	// The text is kept as a span and decoded only once the type is known,
	// since "type" may come after "text".
	var textStart, textEnd int
	hasType, hasText, isText, textEsc := false, false, false, false
	for {
		name, ok, err := s.member(&o)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch string(name) {
		case "type":
			if s.peek() != '"' {
				return s.typeErr("a string")
			}
			hasType = true
			var typ []byte
			typ, err = s.strScratch()
			isText = string(typ) == "text"
		case "text":
			if s.peek() == '"' {
				hasText = true
				textStart, textEnd, textEsc, err = s.str()
			} else {
				err = s.value()
			}
		default:
			if err = s.checkVariant(name, partKeys); err == nil {
				err = s.value()
			}
		}
		if err != nil {
			return err
		}
	}
	if !hasType {
		return d.partErr(CodeMissingRequired, "type", "is required")
	}
	if isText {
		if !hasText {
			return d.partErr(CodeInvalidType, "text", "must be a string in a text part")
		}
		if d.skipTexts {
			return nil
		}
		if textEsc {
			d.text = appendUnescaped(d.text, s.b[textStart:textEnd])
		} else {
			d.text = append(d.text, s.b[textStart:textEnd]...)
		}
	}
	return nil
}

// partErr reports a problem with a member of the content part just read.
func (d *reqDecoder) partErr(code, name, what string) error {
	p := d.s.param() + "." + name
	return apierr.BadParam(p, code, "'"+p+"' "+what)
}
