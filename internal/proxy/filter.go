package proxy

import (
	"context"
	"slices"
	"strconv"

	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/reasoning"
	"github.com/rampart-gw/rampart/internal/route"
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
	tools   [][]int // per choice, the tool calls seen, to flush at the end
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

// toolBase is the first tool-call channel.
const toolBase Channel = 2

// ToolCall is the channel of the arguments of a choice's tool call with
// the given index; filters see its fragments as they stream, like the
// answer's.
func ToolCall(index int) Channel { return toolBase + Channel(index) }

// ToolCallIndex reports the tool call whose arguments a channel carries.
func (c Channel) ToolCallIndex() (int, bool) { return int(c - toolBase), c >= toolBase }

// toolArgs filters the tool-call argument fragments of one choice (idx[k]
// is the index of the tool call args[k] belongs to) and returns the new
// arguments of the tool calls whose text changed. When final, it flushes
// every tool call the choice had and adds what they still held.
func (f *filterChain) toolArgs(choice int, idx []int, args []string, final bool) (map[int]string, error) {
	var set map[int]string
	put := func(i int, s string) {
		if set == nil {
			set = make(map[int]string, 1)
		}
		set[i] = s
	}
	outs := make(map[int]string, len(args))
	for k, a := range args {
		i := idx[k]
		if i < 0 {
			continue
		}
		f.noteTool(choice, i)
		out, err := f.write(choice, ToolCall(i), a)
		if err != nil {
			return nil, err
		}
		if prev, dup := outs[i]; dup {
			// Two fragments of one tool call in one delta: the edit
			// replaces both with the joined text.
			out = prev + out
			put(i, out)
		} else if out != a {
			put(i, out)
		}
		outs[i] = out
	}
	if !final || choice >= len(f.tools) {
		return set, nil
	}
	for _, i := range f.tools[choice] {
		tail, err := f.flush(choice, ToolCall(i))
		if err != nil {
			return nil, err
		}
		if tail != "" {
			put(i, outs[i]+tail)
		}
	}
	f.tools[choice] = nil
	return set, nil
}

// noteTool remembers that a choice has a tool call, to flush it at the end.
func (f *filterChain) noteTool(choice, index int) {
	for choice >= len(f.tools) {
		f.tools = append(f.tools, nil)
	}
	if !slices.Contains(f.tools[choice], index) {
		f.tools[choice] = append(f.tools[choice], index)
	}
}

// textPolicy is how a route renders reasoning for an endpoint: text
// completions are filtered as they come, with no reasoning split, so that
// their text is never reshaped.
func textPolicy(ep openai.Endpoint, rt *route.Route, tgt route.Target) (reasoning.Policy, reasoning.Mode) {
	if ep != openai.Chat {
		return reasoning.Pass, reasoning.ModeNone
	}
	return rt.Policy, reasoningMode(tgt.Client)
}

// filtered reports whether an endpoint's answers go through the filters.
func filtered(ep openai.Endpoint, fc *filterChain) bool {
	return ep == openai.Chat || ep == openai.Completions && fc != nil
}

// tailChunk is the chunk that carries what the filters still held for a
// choice when the upstream ended the stream without finishing it.
func tailChunk(ep openai.Endpoint, choice int) []byte {
	if ep == openai.Completions {
		return []byte(`{"object":"text_completion","choices":[{"index":` + strconv.Itoa(choice) + `,"text":""}]}`)
	}
	return []byte(`{"object":"chat.completion.chunk","choices":[{"index":` + strconv.Itoa(choice) + `,"delta":{}}]}`)
}
