package proxy

import (
	"context"

	"github.com/rampart-gw/rampart/internal/reasoning"
)

// Channel names the part of an answer a filter sees.
type Channel int

// Channels of an answer.
const (
	Answer Channel = iota
	Reasoning
)

// Filter inspects, and may rewrite, the normalised text of an answer as it
// streams (output guards, response DLP). Write returns the text to send in
// place of text and may hold some back; Flush returns what is still held at
// the end of a choice. An *apierr.Error ends the answer: before the first
// byte as an error response, afterwards as a terminal error event.
type Filter interface {
	Write(ctx context.Context, choice int, ch Channel, text string) (string, error)
	Flush(ctx context.Context, choice int, ch Channel) (string, error)
}

// AddFilter attaches a response filter to the call.
func (c *Call) AddFilter(f Filter) { c.filters = append(c.filters, f) }

// filterChain runs a call's filters over one answer and rebuilds the
// client's delta from the filtered channels.
type filterChain struct {
	ctx     context.Context
	filters []Filter
	policy  reasoning.Policy
	inline  bool // the route passes inline <think> tags through
	choices []inlineState
}

// inlineState tracks the <think> tags rebuilt for one choice.
type inlineState struct{ opened, closed bool }

func (f *filterChain) write(choice int, ch Channel, text string) (string, error) {
	for _, fl := range f.filters {
		var err error
		if text, err = fl.Write(f.ctx, choice, ch, text); err != nil {
			return "", err
		}
	}
	return text, nil
}

// flush drains every filter in order: what one releases passes through the
// filters after it.
func (f *filterChain) flush(choice int, ch Channel) (string, error) {
	var out string
	for i, fl := range f.filters {
		tail, err := fl.Flush(f.ctx, choice, ch)
		if err != nil {
			return "", err
		}
		for _, next := range f.filters[i+1:] {
			if tail, err = next.Write(f.ctx, choice, ch, tail); err != nil {
				return "", err
			}
		}
		out += tail
	}
	return out, nil
}

// delta filters the normalised view of one fragment and returns what the
// client gets. in is what the upstream sent, so that absent fields stay
// absent when the filters change nothing.
func (f *filterChain) delta(choice int, in, norm reasoning.Delta, final bool) (reasoning.Delta, error) {
	ans, err := f.write(choice, Answer, norm.Content)
	if err != nil {
		return in, err
	}
	rea, err := f.write(choice, Reasoning, norm.Reasoning)
	if err != nil {
		return in, err
	}
	if final {
		a, err := f.flush(choice, Answer)
		if err != nil {
			return in, err
		}
		r, err := f.flush(choice, Reasoning)
		if err != nil {
			return in, err
		}
		ans, rea = ans+a, rea+r
	}
	out := reasoning.Delta{Content: ans, HasContent: in.HasContent || ans != ""}
	switch {
	case f.policy == reasoning.Strip:
	case f.inline:
		out.Content = f.tagged(choice, rea, ans, final)
		out.HasContent = in.HasContent || out.Content != ""
	default:
		out.Reasoning = rea
		out.HasReasoning = in.HasReasoning || rea != ""
	}
	return out, nil
}

// tagged rebuilds inline <think> tags around filtered text, for routes
// that pass inline reasoning through as the upstream sent it.
func (f *filterChain) tagged(choice int, rea, ans string, final bool) string {
	for choice >= len(f.choices) {
		f.choices = append(f.choices, inlineState{})
	}
	st := &f.choices[choice]
	var s string
	if rea != "" {
		if !st.opened {
			s, st.opened = "<think>", true
		}
		s += rea
	}
	if (ans != "" || final) && st.opened && !st.closed {
		s, st.closed = s+"</think>\n\n", true
	}
	return s + ans
}
