package proxy

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-gw/rampart/internal/openai"
)

// holdFilter upper-cases text and holds back the last two bytes of each
// channel until Flush, like a masker with a hold-back.
type holdFilter struct{ held map[[2]int]string }

func (h *holdFilter) Write(_ context.Context, choice int, ch Channel, text string) (string, error) {
	k := [2]int{choice, int(ch)}
	s := h.held[k] + strings.ToUpper(text)
	cut := max(0, len(s)-2)
	h.held[k] = s[cut:]
	return s[:cut], nil
}

func (h *holdFilter) Flush(_ context.Context, choice int, ch Channel) (string, error) {
	k := [2]int{choice, int(ch)}
	s := h.held[k]
	delete(h.held, k)
	return s, nil
}

func TestToolCallChannels(t *testing.T) {
	t.Parallel()
	for _, i := range []int{0, 1, 7} {
		ch := ToolCall(i)
		if got, ok := ch.ToolCallIndex(); !ok || got != i {
			t.Errorf("ToolCall(%d).ToolCallIndex() = %d, %v", i, got, ok)
		}
	}
	for _, ch := range []Channel{Answer, Reasoning} {
		if _, ok := ch.ToolCallIndex(); ok {
			t.Errorf("channel %d is not a tool call", ch)
		}
	}
}

// TestFilterToolArgs streams two tool calls' argument fragments through a
// holding filter: each chunk's edit carries what the filter released, and
// the final flush adds what it still held, also for a tool call absent from
// the last chunk.
func TestFilterToolArgs(t *testing.T) {
	t.Parallel()
	fc := &filterChain{ctx: context.Background(), filters: []Filter{&holdFilter{held: map[[2]int]string{}}}}
	steps := []struct {
		idx   []int
		args  []string
		final bool
		want  map[int]string
	}{
		{[]int{0}, []string{`{"a":`}, false, map[int]string{0: `{"A`}},
		{[]int{0, 1}, []string{`"x"}`, `{}`}, false, map[int]string{0: `":"X`, 1: ``}},
		{nil, nil, true, map[int]string{0: `"}`, 1: `{}`}},
	}
	var all [2]string
	for n, s := range steps {
		got, err := fc.toolArgs(0, s.idx, s.args, s.final)
		if err != nil || !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d: %v (%v), want %v", n, got, err, s.want)
		}
		for i, v := range got {
			all[i] += v
		}
	}
	if all[0] != `{"A":"X"}` || all[1] != `{}` {
		t.Fatalf("joined %q", all)
	}
	// A chunk rebuilt with those edits keeps the other tool call members.
	e := openai.DeltaEdit{Index: 0, ToolCallArgs: map[int]string{0: `{"A`}}
	out, err := openai.AppendChunkWithDeltas(nil, []byte(`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"a\":"}}]}}]}`), []openai.DeltaEdit{e})
	if err != nil || !strings.Contains(string(out), `"id":"c1","function":{"name":"f","arguments":"{\"A"}`) {
		t.Fatalf("rebuilt chunk %s (%v)", out, err)
	}
}

func TestTailChunk(t *testing.T) {
	t.Parallel()
	for _, ep := range []openai.Endpoint{openai.Chat, openai.Completions} {
		c := "x"
		out, err := openai.AppendChunkWithDeltas(nil, tailChunk(ep, 2), []openai.DeltaEdit{{Index: 2, Content: &c}})
		var ch openai.Chunk
		if err == nil {
			err = openai.ParseChunk(out, &ch)
		}
		if err != nil || len(ch.Choices) != 1 || ch.Choices[0].Index != 2 || ch.Choices[0].Content != "x" {
			t.Errorf("%v: %s (%v)", ep, out, err)
		}
		if ep == openai.Completions && !strings.Contains(string(out), `"text":"x"`) {
			t.Errorf("completions tail %s has no text", out)
		}
	}
}
