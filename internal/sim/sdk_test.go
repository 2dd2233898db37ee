package sim

import (
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestOfficialSDK checks that the OpenAI Go SDK reads every flavour's
// answers, streamed and not, with usage.
func TestOfficialSDK(t *testing.T) {
	t.Parallel()
	for _, fl := range []string{FlavorDeepSeek, FlavorVLLM, FlavorVLLMNoParser, FlavorSGLang, FlavorOllama} {
		for _, model := range []string{"deepseek-reasoner", "deepseek-chat"} {
			t.Run(fl+"/"+model, func(t *testing.T) {
				t.Parallel()
				_, ts := startSim(t, Options{Flavor: fl, APIKey: "sk-sdk", Seed: 1, ReasoningTokens: 6, AnswerTokens: 5})
				client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1"), option.WithAPIKey("sk-sdk"), option.WithMaxRetries(0))
				params := openai.ChatCompletionNewParams{
					Model:    model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
				}
				ctx := testCtx(t)
				resp, err := client.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.Choices) != 1 || resp.Choices[0].Message.Content == "" || resp.Usage.CompletionTokens == 0 {
					t.Fatalf("non-streaming answer %+v", resp)
				}
				if fl == FlavorDeepSeek && model == "deepseek-reasoner" {
					if raw := resp.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw(); len(raw) < 3 {
						t.Errorf("reasoning_content not visible to the SDK: %q", raw)
					}
				}
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				stream := client.Chat.Completions.NewStreaming(ctx, params)
				acc := openai.ChatCompletionAccumulator{}
				for stream.Next() {
					acc.AddChunk(stream.Current())
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				_ = stream.Close()
				got := acc.Choices[0].Message.Content
				want := resp.Choices[0].Message.Content
				if got != want || acc.Usage.CompletionTokens != resp.Usage.CompletionTokens || acc.Usage.TotalTokens == 0 {
					t.Errorf("stream %q usage %+v; body %q usage %+v", got, acc.Usage, want, resp.Usage)
				}
				if strings.Contains(fl, "noparser") && model == "deepseek-reasoner" && !strings.Contains(got, "</think>") {
					t.Errorf("no-parser stream lacks </think>: %q", got)
				}
			})
		}
	}
}
