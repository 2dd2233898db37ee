package reasoning

import (
	"errors"
	"fmt"
)

// Policy is how a route shows reasoning to the client.
type Policy int

const (
	// Pass relays content and reasoning_content as the upstream sent them,
	// inline tags included.
	Pass Policy = iota
	// Strip removes all reasoning: reasoning_content is dropped and an
	// inline reasoning block is cut out of content.
	Strip
	// Separate moves an inline reasoning block into reasoning_content, so
	// content carries only the answer.
	Separate
)

// ParsePolicy parses a route's reasoning setting: "pass", "strip" or
// "separate"; the empty string is Pass.
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "", "pass":
		return Pass, nil
	case "strip":
		return Strip, nil
	case "separate":
		return Separate, nil
	}
	return Pass, fmt.Errorf("%w %q: want pass, strip or separate", ErrUnknownPolicy, s)
}

// ErrUnknownPolicy is wrapped by ParsePolicy so that config validation can
// tell an unknown value from other errors.
var ErrUnknownPolicy = errors.New("unknown reasoning policy")

// String returns the policy's config spelling.
func (p Policy) String() string {
	switch p {
	case Strip:
		return "strip"
	case Separate:
		return "separate"
	}
	return "pass"
}

// Delta is the text part of one choice's streamed delta. The Has flags tell
// a field that is absent (or null) from one that is present but empty.
type Delta struct {
	Content, Reasoning       string
	HasContent, HasReasoning bool
}

// Renderer applies a policy to the deltas of one choice and exposes the
// normalised reasoning and answer for guards. Use one Renderer per choice
// per response.
type Renderer struct {
	policy Policy
	split  Splitter
}

// NewRenderer returns a Renderer for policy p over an upstream in mode m.
func NewRenderer(p Policy, m Mode) *Renderer {
	r := new(Renderer)
	r.Reset(p, m)
	return r
}

// Reset prepares r for a new choice, keeping its memory.
func (r *Renderer) Reset(p Policy, m Mode) {
	r.policy = p
	r.split.Reset(m)
}

// Render takes the upstream's delta and returns what to send to the client
// (out) and the normalised view of this fragment (norm): all reasoning,
// from either field, in Reasoning and the answer in Content, whatever the
// policy. In norm the Has flags are set when the text is non-empty.
//
// In out a field keeps its presence from the upstream, possibly emptied,
// so the chunk keeps its shape; a delta that ends up with neither field may
// be dropped by the caller unless it carries something else.
func (r *Renderer) Render(in Delta) (out, norm Delta) {
	var sr, sa string
	if in.HasContent {
		sr, sa = r.split.Feed(in.Content)
	}
	norm = normal(in.Reasoning, sr, sa)
	switch r.policy {
	case Strip:
		out = Delta{Content: sa, HasContent: in.HasContent}
	case Separate:
		out = norm
		out.HasContent = in.HasContent
		out.HasReasoning = in.HasReasoning || norm.Reasoning != ""
	default:
		out = in
	}
	return out, norm
}

// Flush ends the choice and returns the text that was held back, both for
// the client (out) and normalised (norm). Pass holds nothing back, so its
// out is empty.
func (r *Renderer) Flush() (out, norm Delta) {
	sr, sa := r.split.Flush()
	norm = normal("", sr, sa)
	switch r.policy {
	case Strip:
		out = Delta{Content: sa, HasContent: sa != ""}
	case Separate:
		out = norm
	}
	return out, norm
}

// normal builds the normalised view from the reasoning field and the split
// content. Both reasoning parts are non-empty together only when an
// upstream mixes the two styles in one delta, so the concatenation is rare.
func normal(field, sr, sa string) Delta {
	d := Delta{Content: sa, Reasoning: join(field, sr)}
	d.HasContent = d.Content != ""
	d.HasReasoning = d.Reasoning != ""
	return d
}
