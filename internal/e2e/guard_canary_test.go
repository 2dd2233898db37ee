package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rampart-gw/rampart/internal/sim"
)

var canaryRE = regexp.MustCompile(`rmp-([0-9a-f]{16})`)

// upstreamMessages decodes the messages the simulator received in its
// i-th request.
func upstreamMessages(t *testing.T, s *sim.Server, i int) []struct{ Role, Content string } {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) <= i {
		t.Fatalf("the simulator saw %d requests, want at least %d", len(reqs), i+1)
	}
	var body struct {
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	if err := json.Unmarshal(reqs[i].Body, &body); err != nil {
		t.Fatalf("upstream body: %v", err)
	}
	return body.Messages
}

// TestGuardCanary: every request on a canary route carries a fresh marker
// in its system prompt upstream (added to the system message, or as a new
// one), and an answer or reasoning that repeats it is stopped, whole or
// streamed, before the marker reaches the client. A route with the canary
// off sends the prompt unchanged. DLP masking of the same system message
// still applies.
func TestGuardCanary(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{
			{Name: "r", Models: "deepseek-reasoner", Upstreams: "sim"},
			{Name: "plain", Models: "deepseek-chat", Upstreams: "sim"},
		},
		"guards: {enabled: true, prompt_leak: {canary: true, canary_routes: {plain: false}}}\ndlp: {enabled: true}\n")
	s := e.sims["sim"]
	const sys = `{"role":"system","content":"You are Orion. Escalate to ops@example.com."},`
	body := func(model, system string, stream bool, echo string) string {
		b := `{"model":"` + model + `","messages":[` + system + `{"role":"user","content":"Hi, how are you today?"}]`
		if stream {
			b += `,"stream":true`
		}
		// The simulator's literal answer and reasoning win over the echo,
		// so only the other channel gets one.
		other := `"reasoning":"Thinking."`
		if echo == "reasoning" {
			other = `"answer":"Hello."`
		}
		return b + `,"x_sim":{"echo_system":"` + echo + `",` + other + `}}`
	}
	n := 0
	markers := map[string]bool{}
	for _, c := range []struct {
		desc, system, echo string
		stream             bool
	}{
		{"whole answer, system message", sys, "answer", false},
		{"streamed reasoning, system message", sys, "reasoning", true},
		{"streamed answer, no system message", "", "answer", true},
		{"whole reasoning, no system message", "", "reasoning", false},
	} {
		resp, got := e.post("/v1/chat/completions", body("deepseek-reasoner", c.system, c.stream, c.echo))
		if len(s.Requests()) <= n {
			t.Fatalf("%s: the upstream was not called; the client got %d: %s", c.desc, resp.StatusCode, got)
		}
		msgs := upstreamMessages(t, s, n)
		n++
		if msgs[0].Role != "system" {
			t.Fatalf("%s: first upstream message is %q, want system", c.desc, msgs[0].Role)
		}
		m := canaryRE.FindStringSubmatch(msgs[0].Content)
		if m == nil {
			t.Fatalf("%s: no canary in the upstream system prompt %q", c.desc, msgs[0].Content)
		}
		if markers[m[1]] {
			t.Errorf("%s: canary %s reused", c.desc, m[1])
		}
		markers[m[1]] = true
		if c.system != "" {
			if len(msgs) != 2 || !strings.HasPrefix(msgs[0].Content, "You are Orion. Escalate to ") || strings.Contains(msgs[0].Content, "ops@example.com") {
				t.Errorf("%s: system prompt upstream %q: want the original, masked by DLP, plus the canary", c.desc, msgs[0].Content)
			}
		} else if len(msgs) != 2 || msgs[1].Role != "user" {
			t.Errorf("%s: upstream messages %+v: want a system message prepended", c.desc, msgs)
		}
		if strings.Contains(string(got), m[1]) {
			t.Errorf("%s: the canary reached the client: %s", c.desc, got)
		}
		if c.stream {
			evs := sseEvents(got)
			if resp.StatusCode != 200 || len(evs) == 0 || !strings.Contains(evs[len(evs)-1], `"content_blocked"`) || strings.Contains(string(got), "[DONE]") {
				t.Errorf("%s: want a stream ending with a content_blocked error event, got %d: %s", c.desc, resp.StatusCode, got)
			}
			continue
		}
		checkAPIError(t, resp, got, 502, "content_blocked")
	}

	// The canary does not disturb an ordinary answer, through the SDK.
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:    "deepseek-reasoner",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You are Orion."), openai.UserMessage("Hi")},
	}
	st := e.client.Chat.Completions.NewStreaming(ctx, params, answerWith("Hello, how can I help?", "A greeting."))
	var answer strings.Builder
	for st.Next() {
		for _, ch := range st.Current().Choices {
			answer.WriteString(ch.Delta.Content)
		}
	}
	if st.Err() != nil || answer.String() != "Hello, how can I help?" {
		t.Errorf("ordinary stream: %q, %v", answer.String(), st.Err())
	}
	_, err := e.client.Chat.Completions.New(ctx, params, option.WithJSONSet("x_sim", map[string]any{"echo_system": "answer"}))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.Code != "content_blocked" {
		t.Errorf("SDK, leaked system prompt: %v", err)
	}
	n += 2

	// A route with the canary off sends the system prompt as it came.
	resp, got := e.post("/v1/chat/completions", body("deepseek-chat", sys, false, "answer"))
	if resp.StatusCode != 200 {
		t.Fatalf("canary off: status %d: %s", resp.StatusCode, got)
	}
	msgs := upstreamMessages(t, s, n)
	if len(msgs) != 2 || canaryRE.MatchString(msgs[0].Content) || strings.Contains(msgs[0].Content, "marker") {
		t.Errorf("canary off: upstream messages %+v", msgs)
	}
}
