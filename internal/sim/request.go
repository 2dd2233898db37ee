package sim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// chatRequest is the part of a chat completion request the simulator reads.
// Unknown fields are ignored, as the real servers ignore them.
type chatRequest struct {
	Model               *string        `json:"model"`
	Messages            jsontext.Value `json:"messages"`
	Stream              bool           `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options"`
	MaxTokens           *int           `json:"max_tokens"`
	MaxCompletionTokens *int           `json:"max_completion_tokens"`
	XSim                *knobs         `json:"x_sim"`

	msgs []message
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// message is one chat message; content stays raw until it is needed.
type message struct {
	Role             *string        `json:"role"`
	Content          jsontext.Value `json:"content"`
	ReasoningContent jsontext.Value `json:"reasoning_content"`
}

// contentPart is one element of an array content.
type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// reqError is a validation failure with its status and error code.
type reqError struct {
	status int
	code   string
	msg    string
}

func (e *reqError) Error() string { return e.msg }

func badRequest(format string, args ...any) *reqError {
	return &reqError{status: http.StatusBadRequest, code: "invalid_request_error", msg: fmt.Sprintf(format, args...)}
}

// decodeChat parses and validates a chat request the way the real servers
// do: invalid JSON, a missing model or messages, a bad max_tokens and a bad
// message are 400. It does not check that the model is served.
func decodeChat(body []byte) (*chatRequest, error) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, badRequest("invalid request body: %v", err)
	}
	if req.Model == nil || *req.Model == "" {
		return nil, badRequest("model is required")
	}
	if len(req.Messages) == 0 || req.Messages.Kind() == 'n' {
		return nil, badRequest("messages is required")
	}
	if err := json.Unmarshal(req.Messages, &req.msgs); err != nil {
		return nil, badRequest("invalid messages: %v", err)
	}
	if len(req.msgs) == 0 {
		return nil, badRequest("messages must not be empty")
	}
	for i, m := range req.msgs {
		if err := m.validate(); err != nil {
			return nil, badRequest("messages[%d]: %v", i, err)
		}
	}
	for _, p := range []*int{req.MaxTokens, req.MaxCompletionTokens} {
		if p != nil && *p < 1 {
			return nil, badRequest("max_tokens must be at least 1, got %d", *p)
		}
	}
	if req.XSim != nil {
		if err := req.XSim.validate(); err != nil {
			return nil, badRequest("%v", err)
		}
	}
	return &req, nil
}

// validate checks a message's role and content shape.
func (m *message) validate() error {
	if m.Role == nil {
		return errors.New("role is required")
	}
	switch *m.Role {
	case "system", "user", "assistant", "tool", "developer":
	default:
		return fmt.Errorf("unknown role %q", *m.Role)
	}
	switch m.Content.Kind() {
	case '"', 'n', 0:
		return nil
	case '[':
		var parts []contentPart
		if err := json.Unmarshal(m.Content, &parts); err != nil {
			return fmt.Errorf("invalid content: %w", err)
		}
		return nil
	}
	return errors.New("content must be a string or an array of parts")
}

// text returns the message's text: the string content, or the text parts
// of an array content joined by newlines.
func (m *message) text() string {
	switch m.Content.Kind() {
	case '"':
		var s string
		if json.Unmarshal(m.Content, &s) == nil {
			return s
		}
	case '[':
		var parts []contentPart
		if json.Unmarshal(m.Content, &parts) == nil {
			var b strings.Builder
			for _, p := range parts {
				if p.Type == "text" {
					if b.Len() > 0 {
						b.WriteByte('\n')
					}
					b.WriteString(p.Text)
				}
			}
			return b.String()
		}
	}
	return ""
}

// hasReasoning reports whether any message carries reasoning_content.
func (r *chatRequest) hasReasoning() bool {
	for _, m := range r.msgs {
		if len(m.ReasoningContent) > 0 {
			return true
		}
	}
	return false
}

// lastUserText is the text of the last user message, for echo.
func (r *chatRequest) lastUserText() string {
	for i := len(r.msgs) - 1; i >= 0; i-- {
		if m := &r.msgs[i]; *m.Role == "user" {
			return m.text()
		}
	}
	return ""
}

// systemText is the text of the system and developer messages, for the
// echo_system knob.
func (r *chatRequest) systemText() string {
	var parts []string
	for i := range r.msgs {
		if m := &r.msgs[i]; *m.Role == "system" || *m.Role == "developer" {
			parts = append(parts, m.text())
		}
	}
	return strings.Join(parts, "\n")
}

// promptTokens estimates the prompt size: a token per four bytes of message
// content, at least one.
func (r *chatRequest) promptTokens() int {
	n := 0
	for _, m := range r.msgs {
		n += len(m.Content)
	}
	return max(1, n/4)
}

// maxTokens is the effective limit, 0 when none.
func (r *chatRequest) maxTokens() int {
	if r.MaxCompletionTokens != nil {
		return *r.MaxCompletionTokens
	}
	if r.MaxTokens != nil {
		return *r.MaxTokens
	}
	return 0
}

// includeUsage reports stream_options.include_usage.
func (r *chatRequest) includeUsage() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}
