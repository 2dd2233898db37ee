package openai

import (
	"github.com/rampart-gw/rampart/internal/apierr"
)

// Endpoint is the API a request body was sent to.
type Endpoint int

// The endpoints Rampart decodes.
const (
	Chat        Endpoint = iota // POST /v1/chat/completions
	Completions                 // POST /v1/completions
	Embeddings                  // POST /v1/embeddings
)

// String returns the endpoint's name as used in logs and metrics.
func (e Endpoint) String() string {
	switch e {
	case Chat:
		return "chat"
	case Completions:
		return "completions"
	case Embeddings:
		return "embeddings"
	}
	return "unknown"
}

// Limits bound the work Decode does on one body.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays allowed; the
	// top-level object is depth 1. Zero means DefaultMaxDepth (64). A client
	// that exceeds it gets 400 too_deeply_nested.
	MaxDepth int
	// SkipTexts makes Decode check the texts (message contents, names,
	// tool call arguments, prompts and inputs) with the same rules but not
	// keep them: Content, Name and ToolCallArgs stay empty and Prompt and
	// Input nil. It is for callers that decide nothing on the texts (a
	// route with no stages) and saves a copy of the body per request. The
	// zero value keeps them.
	SkipTexts bool
}

// Request is a decoded client request: the fields Rampart decides on, plus
// what it needs to re-encode the body for the upstream.
type Request struct {
	Endpoint Endpoint
	// Body is the original body; it is not copied and must not be modified
	// while the Request is in use.
	Body []byte
	// Model is the requested model, a non-empty string.
	Model string
	// Stream is the stream flag (null counts as false).
	Stream bool
	// IncludeUsage is stream_options.include_usage as sent.
	IncludeUsage bool
	// MaxTokens is max_tokens or max_completion_tokens, whichever was given
	// (both given must agree); 0 when absent.
	MaxTokens int
	// HasTools reports a non-empty tools array.
	HasTools bool
	// Messages are the chat messages. They are decoded, with the same rules,
	// wherever a "messages" member is present, because some upstreams accept
	// messages on other endpoints too (vLLM embeddings) and guards must see
	// everything the model sees.
	Messages []Message
	// Prompt is the completions prompt: a string or an array of strings.
	// It is nil for token-array prompts.
	Prompt []string
	// Input is the embeddings input: a string or an array of strings. It is
	// nil for token-array input.
	Input []string

	// members are the spans of the top-level members, in order, for
	// splicing edits into the body.
	members []member
	// hasMaxTokens and hasMaxCompletionTokens record which of the two
	// limits were present with a number.
	hasMaxTokens, hasMaxCompletionTokens bool
	memberBuf                            [16]member
}

// Release drops the body and the decoded texts once no upstream body will
// be built from the request again (a stream that has started is never
// retried): an open stream then holds only the request's scalar fields.
// Model, Endpoint, Stream, IncludeUsage, MaxTokens and HasTools stay.
func (r *Request) Release() {
	r.Body = nil
	r.Messages, r.Prompt, r.Input = nil, nil, nil
	r.members = nil
}

// Message is one chat message.
type Message struct {
	// Role is system, user, assistant, tool, developer or function.
	Role string
	// Content is the text: the string content, or the concatenation of the
	// "text" parts of an array content (other parts are kept in the body but
	// contribute no text); "" when null or absent.
	Content string
	// HasReasoning reports an assistant message carrying reasoning_content
	// or reasoning.
	HasReasoning bool
	// ToolCallArgs are the tool_calls[].function.arguments strings.
	ToolCallArgs []string
	// Name is the optional participant name.
	Name string

	// start and end delimit the message object in Request.Body.
	start, end int
	// contentIsString reports that content was a JSON string, so that
	// replacing it with the same text is no change.
	contentIsString bool
}

// fieldID names a top-level member Rampart decides on.
type fieldID uint8

const (
	fieldOther fieldID = iota
	fieldModel
	fieldStream
	fieldStreamOptions
	fieldMessages
	fieldMaxTokens
	fieldMaxCompletionTokens
	fieldTools
	fieldPrompt
	fieldInput
)

// member is the span of one top-level member: the name starts at key, the
// value spans [val, end).
type member struct {
	id            fieldID
	key, val, end int
}

// maxSharedCopy is the largest body whose decoded strings share one copy
// of it. Larger bodies are mostly images or documents; copying them whole
// would double their memory, so their strings are copied one by one.
const maxSharedCopy = 64 << 10

// Decode parses body as a request to ep, strictly: one JSON object, valid
// UTF-8, no duplicate names at any depth, no case variants of decided names,
// nesting within lim.MaxDepth, and the documented types for every decided
// field. Errors are *apierr.Error with status 400.
func Decode(ep Endpoint, body []byte, lim Limits) (*Request, error) {
	r := &Request{Endpoint: ep, Body: body}
	r.members = r.memberBuf[:0]
	s := getScanner(body, lim.MaxDepth)
	defer putScanner(s)
	if len(body) <= maxSharedCopy && !lim.SkipTexts {
		// One copy of the body backs every decoded string without escapes,
		// which saves an allocation per message.
		s.text = string(body)
	}
	d := reqDecoder{s: s, r: r, skipTexts: lim.SkipTexts}
	if err := d.top(); err != nil {
		return nil, err
	}
	if err := d.required(); err != nil {
		return nil, err
	}
	return r, nil
}

// required checks the members each endpoint cannot do without.
func (d *reqDecoder) required() error {
	if !d.seen[fieldModel] {
		return apierr.BadParam("model", CodeMissingRequired, "'model' is required")
	}
	switch d.r.Endpoint {
	case Chat:
		if !d.seen[fieldMessages] {
			return apierr.BadParam("messages", CodeMissingRequired, "'messages' is required")
		}
	case Completions:
		if !d.seen[fieldPrompt] {
			return apierr.BadParam("prompt", CodeMissingRequired, "'prompt' is required")
		}
	case Embeddings:
		if !d.seen[fieldInput] {
			return apierr.BadParam("input", CodeMissingRequired, "'input' is required")
		}
	}
	return nil
}
