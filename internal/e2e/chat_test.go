package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rampart-gw/rampart/internal/sim"
)

const (
	wantReasoning = "First I consider the question. Then I answer."
	wantAnswer    = "Hello from the simulator, friend."
)

// literal makes the simulator send exactly these texts.
var literal = option.WithJSONSet("x_sim", map[string]any{"reasoning": wantReasoning, "answer": wantAnswer})

// extraString reads a string field the SDK does not model, such as
// reasoning_content; "" when absent or null.
func extraString(raw string) string {
	var s string
	if raw == "" || raw == "null" {
		return ""
	}
	_ = json.Unmarshal([]byte(raw), &s)
	return s
}

// TestReasoningPolicies drives each upstream flavour through each reasoning
// policy, streaming and not, with the official SDK, and checks what the
// client receives in content and reasoning_content.
func TestReasoningPolicies(t *testing.T) {
	t.Parallel()
	flavors := []struct {
		flavor string // simulator and upstream flavour
		model  string
		inline bool // reasoning arrives inline as <think> in content
	}{
		{"deepseek", "deepseek-reasoner", false},
		{"vllm", "deepseek-reasoner", false},
		{"ollama", "deepseek-reasoner", true},
	}
	var ups []upstreamSpec
	var routes []routeSpec
	for _, f := range flavors {
		ups = append(ups, upstreamSpec{Name: f.flavor, Flavor: f.flavor, Sim: &sim.Options{Flavor: f.flavor, Seed: 7}})
		for _, pol := range []string{"pass", "strip", "separate"} {
			routes = append(routes, routeSpec{
				Name: f.flavor + "-" + pol, Models: f.flavor + "-" + pol, Upstreams: f.flavor, Reasoning: pol,
				Extra: "    aliases: {" + f.flavor + "-" + pol + ": " + f.model + "}\n",
			})
		}
	}
	e := start(t, ups, routes, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, f := range flavors {
		for _, pol := range []string{"pass", "strip", "separate"} {
			for _, stream := range []bool{false, true} {
				model := f.flavor + "-" + pol
				content, reasoning, usage := e.chat(ctx, model, stream)
				wantC, wantR := wantAnswer, wantReasoning
				switch {
				case pol == "strip":
					wantR = ""
				case pol == "pass" && f.inline:
					// Ollama's layout, relayed untouched.
					wantC, wantR = "<think>\n"+wantReasoning+"\n</think>\n\n"+wantAnswer, ""
				case f.inline:
					// The reasoning text is kept byte for byte.
					wantR = "\n" + wantReasoning + "\n"
				}
				if content != wantC || reasoning != wantR {
					t.Errorf("%s stream=%v:\n content   %q\n want      %q\n reasoning %q\n want      %q",
						model, stream, content, wantC, reasoning, wantR)
				}
				if usage <= 0 {
					t.Errorf("%s stream=%v: no usage", model, stream)
				}
			}
		}
	}
}

// chat sends one chat request and returns the answer, the reasoning and
// the total tokens.
func (e *env) chat(ctx context.Context, model string, stream bool) (content, reasoning string, total int64) {
	e.t.Helper()
	params := openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
	if !stream {
		resp, err := e.client.Chat.Completions.New(ctx, params, literal)
		if err != nil {
			e.t.Fatalf("%s: %v", model, err)
		}
		m := resp.Choices[0].Message
		return m.Content, extraString(m.JSON.ExtraFields["reasoning_content"].Raw()), resp.Usage.TotalTokens
	}
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	s := e.client.Chat.Completions.NewStreaming(ctx, params, literal)
	var c, r strings.Builder
	for s.Next() {
		ch := s.Current()
		if ch.Usage.TotalTokens > 0 {
			total = ch.Usage.TotalTokens
		}
		for _, choice := range ch.Choices {
			c.WriteString(choice.Delta.Content)
			r.WriteString(extraString(choice.Delta.JSON.ExtraFields["reasoning_content"].Raw()))
		}
	}
	if err := s.Err(); err != nil {
		e.t.Fatalf("%s stream: %v", model, err)
	}
	return c.String(), r.String(), total
}

// TestRequestIDAndUsageHeaders checks the X-Request-Id contract on success
// and on every kind of rejection.
func TestRequestID(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat, deepseek-reasoner", Upstreams: "sim"}}, "")
	seen := map[string]bool{}
	for _, body := range []string{chatBody("deepseek-chat", false, ""), "{", chatBody("nope", false, "")} {
		resp, _ := e.post("/v1/chat/completions", body)
		id := resp.Header.Get("X-Request-Id")
		if id == "" || seen[id] {
			t.Fatalf("status %d: X-Request-Id %q missing or repeated", resp.StatusCode, id)
		}
		seen[id] = true
	}
}

// TestModelsListsOnlyServedModels checks GET /v1/models through the SDK.
func TestModels(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat, deepseek-reasoner, 'llama-*'", Upstreams: "sim"}}, "")
	page, err := e.client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "deepseek-chat,deepseek-reasoner" {
		t.Fatalf("models = %v", ids)
	}
	// The path without /v1 works too, as DeepSeek's API accepts it.
	resp, body := e.get("/models")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "deepseek-chat") {
		t.Fatalf("GET /models: %d %s", resp.StatusCode, body)
	}
}

// TestCompletionsAndEmbeddings covers the other two endpoints.
func TestCompletionsAndEmbeddings(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	ctx := context.Background()
	c, err := e.client.Completions.New(ctx, openai.CompletionNewParams{
		Model:  "deepseek-chat",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
	})
	if err != nil || len(c.Choices) == 0 || c.Choices[0].Text == "" {
		t.Fatalf("completions: %v %+v", err, c)
	}
	s := e.client.Completions.NewStreaming(ctx, openai.CompletionNewParams{
		Model:  "deepseek-chat",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
	})
	n := 0
	for s.Next() {
		n++
	}
	if s.Err() != nil || n == 0 {
		t.Fatalf("streamed completions: %v after %d chunks", s.Err(), n)
	}
	emb, err := e.client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: "deepseek-chat",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
	})
	if err != nil || len(emb.Data) != 2 || len(emb.Data[0].Embedding) == 0 {
		t.Fatalf("embeddings: %v %+v", err, emb)
	}
}

// TestReasoningHistoryIsStripped: DeepSeek's reasoner answers 400 when an
// assistant message in the history carries reasoning_content; the gateway
// removes it, and keeps it for upstreams that accept it.
func TestReasoningHistoryIsStripped(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{
		{Name: "ds", Sim: &sim.Options{}},
		{Name: "vl", Flavor: "vllm", Sim: &sim.Options{Flavor: "vllm"}},
	}, []routeSpec{
		{Name: "ds", Models: "deepseek-reasoner", Upstreams: "ds"},
		{Name: "vl", Models: "vllm-r1", Upstreams: "vl", Extra: "    aliases: {vllm-r1: deepseek-reasoner}\n"},
	}, "")
	history := `"messages":[{"role":"user","content":"Hi"},` +
		`{"role":"assistant","content":"Hello!","reasoning_content":"The user greets me.","x_extra":1},` +
		`{"role":"user","content":"And now?"}]`
	for _, model := range []string{"deepseek-reasoner", "vllm-r1"} {
		resp, body := e.post("/v1/chat/completions", `{"model":"`+model+`",`+history+`}`)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", model, resp.StatusCode, body)
		}
	}
	ds, vl := e.sims["ds"].Requests(), e.sims["vl"].Requests()
	if strings.Contains(string(ds[0].Body), "reasoning_content") || !strings.Contains(string(ds[0].Body), `"x_extra":1`) {
		t.Errorf("DeepSeek received %s", ds[0].Body)
	}
	if !strings.Contains(string(vl[0].Body), "reasoning_content") {
		t.Errorf("vLLM lost the reasoning history: %s", vl[0].Body)
	}
}
