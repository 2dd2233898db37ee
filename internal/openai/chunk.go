package openai

import (
	"github.com/rampart-gw/rampart/internal/record"
)

// ChunkChoice is what Rampart reads from one choice of a response.
type ChunkChoice struct {
	Index int
	// Content is delta.content (streaming), message.content (whole
	// completion) or text (text completions).
	Content string
	// Reasoning is reasoning_content, or vLLM's newer "reasoning".
	Reasoning string
	// HasContent and HasReasoning report a non-null field.
	HasContent, HasReasoning bool
	// FinishReason is "" until the choice finishes.
	FinishReason string
	// ToolCallArgs are the tool_calls[].function.arguments strings
	// (fragments, when streaming).
	ToolCallArgs []string
	// ToolCallIndex holds, for each of ToolCallArgs, the tool call's
	// "index" member, or its position in tool_calls when it has none.
	ToolCallIndex []int
}

// UpstreamError is an error object sent in place of, or in the middle of,
// a response.
type UpstreamError struct {
	Message string
	Type    string
	// Code is the code as sent: a string, or a number in decimal.
	Code  string
	Param string
}

// Chunk is what Rampart reads from one streamed chunk or one whole
// completion. A Chunk may be reused across calls to save allocations.
type Chunk struct {
	Choices []ChunkChoice
	// Usage is the reported usage, nil when the chunk has none.
	Usage *record.Usage
	// Error is set when the upstream sent an error object.
	Error *UpstreamError
	// Model is the model the upstream named.
	Model string

	usage  record.Usage
	err    UpstreamError
	s      scanner
	inline [2]ChunkChoice
}

// reset prepares c for a new parse, keeping its buffers.
func (c *Chunk) reset(data []byte) {
	if c.Choices == nil {
		c.Choices = c.inline[:0]
	}
	c.Choices = c.Choices[:0]
	c.Usage, c.Error = nil, nil
	if c.s.keys == nil {
		c.s.keys = make([][]byte, 0, 8)
		c.s.path = make([]pathSeg, 0, 8)
	}
	c.s.reset(data, DefaultMaxDepth)
	c.s.where = "response"
}

// release drops the references into the caller's buffer.
func (c *Chunk) release() {
	c.s.b = nil
	clear(c.s.keys[:cap(c.s.keys)])
	clear(c.s.path[:cap(c.s.path)])
}

// addChoice appends a zeroed choice, reusing the ToolCallArgs storage of an
// earlier parse.
func (c *Chunk) addChoice() *ChunkChoice {
	n := len(c.Choices)
	if n < cap(c.Choices) {
		c.Choices = c.Choices[:n+1]
		ch := &c.Choices[n]
		args, idx := ch.ToolCallArgs[:0], ch.ToolCallIndex[:0]
		clear(ch.ToolCallArgs[:cap(ch.ToolCallArgs)])
		*ch = ChunkChoice{ToolCallArgs: args, ToolCallIndex: idx}
		return ch
	}
	c.Choices = append(c.Choices, ChunkChoice{})
	return &c.Choices[n]
}

// ParseChunk parses one streamed chunk: a chat.completion.chunk
// (choices[].delta with content, reasoning_content or reasoning, and
// tool_calls) or a text_completion chunk (choices[].text). It reuses c's
// storage. Errors wrap ErrInvalidResponse.
func ParseChunk(data []byte, c *Chunk) error {
	return c.parse(data)
}

// ParseCompletion parses a whole non-streaming response: a chat.completion
// (choices[].message) or a text_completion (choices[].text), into the same
// structure as ParseChunk.
func ParseCompletion(body []byte, c *Chunk) error {
	// A whole answer names its own model or none: a reused c must not
	// report the model of the answer it held before.
	c.Model = ""
	return c.parse(body)
}

// maxRecycledScratch is the largest unescaping buffer Recycle keeps, and
// maxRecycledChoices the most choices.
const (
	maxRecycledScratch = 64 << 10
	maxRecycledChoices = 8
)

// Recycle prepares c, which held a whole answer, for another request's
// answer: it lets go of the answer's texts, and reports false when c holds
// more memory than is worth keeping (an answer with a long escaped text or
// many choices), in which case c should be dropped.
func (c *Chunk) Recycle() bool {
	if cap(c.s.scratch) > maxRecycledScratch || cap(c.Choices) > maxRecycledChoices {
		return false
	}
	all := c.Choices[:cap(c.Choices)]
	for i := range all {
		ch := &all[i]
		args, idx := ch.ToolCallArgs[:0], ch.ToolCallIndex[:0]
		clear(ch.ToolCallArgs[:cap(ch.ToolCallArgs)])
		*ch = ChunkChoice{ToolCallArgs: args, ToolCallIndex: idx}
	}
	c.Choices = c.Choices[:0]
	c.Model = ""
	c.Usage, c.Error = nil, nil
	c.err = UpstreamError{}
	// The buffer held the last escaped text of the answer.
	clear(c.s.scratch[:cap(c.s.scratch)])
	return true
}

func (c *Chunk) parse(data []byte) error {
	c.reset(data)
	defer c.release()
	if err := c.top(); err != nil {
		return responseError(err)
	}
	return nil
}

var zeroUsage record.Usage
