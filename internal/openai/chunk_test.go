package openai

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rampart-gw/rampart/internal/record"
)

// Real-shaped chunks from the servers Rampart fronts.
const (
	deepseekReasoning = `{"id":"5a9f0d2e-7c1b-4d8e-9a3f-2b6c8d1e0f47","object":"chat.completion.chunk","created":1737000000,"model":"deepseek-reasoner","system_fingerprint":"fp_5417b77867_prod0225","choices":[{"index":0,"delta":{"content":null,"reasoning_content":"Okay, the user"},"logprobs":null,"finish_reason":null}]}`
	deepseekContent   = `{"id":"5a9f0d2e-7c1b-4d8e-9a3f-2b6c8d1e0f47","object":"chat.completion.chunk","created":1737000000,"model":"deepseek-reasoner","system_fingerprint":"fp_5417b77867_prod0225","choices":[{"index":0,"delta":{"content":" Paris.\n","reasoning_content":null},"logprobs":null,"finish_reason":null}]}`
	deepseekUsage     = `{"id":"5a9f","object":"chat.completion.chunk","created":1737000000,"model":"deepseek-reasoner","system_fingerprint":"fp_5417","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":13,"completion_tokens":250,"total_tokens":263,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":220},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":13}}`
	vllmReasoning     = `{"id":"chatcmpl-b3f1","object":"chat.completion.chunk","created":1737000001,"model":"deepseek-ai/DeepSeek-R1-Distill-Qwen-7B","choices":[{"index":0,"delta":{"reasoning_content":"Let me think"},"logprobs":null,"finish_reason":null}]}`
	vllmReasoningNew  = `{"id":"chatcmpl-b3f1","object":"chat.completion.chunk","created":1737000001,"model":"r1","choices":[{"index":0,"delta":{"reasoning":"Hmm"},"logprobs":null,"finish_reason":null}]}`
	vllmUsageOnly     = `{"id":"chatcmpl-b3f1","object":"chat.completion.chunk","created":1737000001,"model":"r1","choices":[],"usage":{"prompt_tokens":10,"total_tokens":30,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":4}}}`
	vllmError         = `{"error":{"object":"error","message":"This model's maximum context length is 4096 tokens","type":"BadRequestError","param":null,"code":400}}`
	vllmTopError      = `{"object":"error","message":"The model does not exist.","type":"NotFoundError","param":"model","code":404}`
	ollamaChunk       = `{"id":"chatcmpl-527","object":"chat.completion.chunk","created":1737000002,"model":"deepseek-r1:7b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"\u003cthink\u003e"},"finish_reason":null}]}`
	openaiTool        = `{"id":"chatcmpl-A1","object":"chat.completion.chunk","created":1737000003,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_f33667828e","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"loc"}}]},"logprobs":null,"finish_reason":null}],"usage":null}`
	openaiText        = `{"id":"cmpl-9","object":"text_completion","created":1737000004,"model":"gpt-3.5-turbo-instruct","choices":[{"text":" world","index":1,"logprobs":null,"finish_reason":"length"}]}`
)

func TestParseChunk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		data string
		want Chunk
	}{
		{"deepseek reasoning", deepseekReasoning, Chunk{Model: "deepseek-reasoner",
			Choices: []ChunkChoice{{Reasoning: "Okay, the user", HasReasoning: true}}}},
		{"deepseek content", deepseekContent, Chunk{Model: "deepseek-reasoner",
			Choices: []ChunkChoice{{Content: " Paris.\n", HasContent: true}}}},
		{"deepseek usage", deepseekUsage, Chunk{Model: "deepseek-reasoner",
			Choices: []ChunkChoice{{Content: "", HasContent: true, FinishReason: "stop"}},
			Usage:   &record.Usage{PromptTokens: 13, CompletionTokens: 250, TotalTokens: 263, ReasoningTokens: 220}}},
		{"vllm reasoning_content", vllmReasoning, Chunk{Model: "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
			Choices: []ChunkChoice{{Reasoning: "Let me think", HasReasoning: true}}}},
		{"vllm reasoning", vllmReasoningNew, Chunk{Model: "r1",
			Choices: []ChunkChoice{{Reasoning: "Hmm", HasReasoning: true}}}},
		{"usage with empty choices", vllmUsageOnly, Chunk{Model: "r1", Choices: []ChunkChoice{},
			Usage: &record.Usage{PromptTokens: 10, CompletionTokens: 20, TotalTokens: 30, CachedTokens: 4}}},
		{"error chunk", vllmError, Chunk{Choices: []ChunkChoice{},
			Error: &UpstreamError{Message: "This model's maximum context length is 4096 tokens", Type: "BadRequestError", Code: "400"}}},
		{"top-level error", vllmTopError, Chunk{Choices: []ChunkChoice{},
			Error: &UpstreamError{Message: "The model does not exist.", Type: "NotFoundError", Code: "404", Param: "model"}}},
		{"ollama", ollamaChunk, Chunk{Model: "deepseek-r1:7b",
			Choices: []ChunkChoice{{Content: "<think>", HasContent: true}}}},
		{"openai tool call", openaiTool, Chunk{Model: "gpt-4o-2024-08-06",
			Choices: []ChunkChoice{{ToolCallArgs: []string{`{"loc`}, ToolCallIndex: []int{0}}}}},
		{"text completion", openaiText, Chunk{Model: "gpt-3.5-turbo-instruct",
			Choices: []ChunkChoice{{Index: 1, Content: " world", HasContent: true, FinishReason: "length"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			var c Chunk
			// Parse something else first to prove that reuse leaves nothing behind.
			if err := ParseChunk([]byte(openaiTool), &c); err != nil {
				t.Fatal(err)
			}
			if err := ParseChunk([]byte(tc.data), &c); err != nil {
				t.Fatalf("ParseChunk: %v", err)
			}
			assertChunk(t, &c, &tc.want)
		})
	}
}

func assertChunk(t *testing.T, got, want *Chunk) {
	t.Helper()
	norm := func(cs []ChunkChoice) []ChunkChoice {
		out := []ChunkChoice{}
		for _, c := range cs {
			if len(c.ToolCallArgs) == 0 {
				c.ToolCallArgs = nil
			}
			if len(c.ToolCallIndex) == 0 {
				c.ToolCallIndex = nil
			}
			out = append(out, c)
		}
		return out
	}
	if !reflect.DeepEqual(norm(got.Choices), norm(want.Choices)) {
		t.Errorf("choices %+v, want %+v", got.Choices, want.Choices)
	}
	if !reflect.DeepEqual(got.Usage, want.Usage) {
		t.Errorf("usage %+v, want %+v", got.Usage, want.Usage)
	}
	if !reflect.DeepEqual(got.Error, want.Error) {
		t.Errorf("error %+v, want %+v", got.Error, want.Error)
	}
	if got.Model != want.Model && want.Model != "" {
		t.Errorf("model %q, want %q", got.Model, want.Model)
	}
}

func TestParseCompletion(t *testing.T) {
	t.Parallel()
	body := `{"id":"x","object":"chat.completion","created":1,"model":"deepseek-reasoner","choices":[{"index":0,"message":{"role":"assistant","content":"Paris.","reasoning_content":"The capital...","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14,"prompt_cache_hit_tokens":3,"completion_tokens_details":{"reasoning_tokens":6}}}`
	var c Chunk
	if err := ParseCompletion([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	assertChunk(t, &c, &Chunk{Model: "deepseek-reasoner",
		Choices: []ChunkChoice{{Content: "Paris.", HasContent: true, Reasoning: "The capital...", HasReasoning: true, FinishReason: "stop", ToolCallArgs: []string{"{}"}, ToolCallIndex: []int{0}}},
		Usage:   &record.Usage{PromptTokens: 5, CompletionTokens: 9, TotalTokens: 14, CachedTokens: 3, ReasoningTokens: 6}})
}

func TestParseChunkRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ desc, data string }{
		{"empty", ``},
		{"not json", `data: {}`},
		{"array", `[]`},
		{"truncated", deepseekContent[:100]},
		{"trailing", deepseekContent + `{}`},
		{"duplicate content", `{"choices":[{"index":0,"delta":{"content":"a","content":"b"}}]}`},
		{"content array", `{"choices":[{"index":0,"delta":{"content":["a"]}}]}`},
		{"invalid utf8", "{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}"},
		{"float tokens", `{"usage":{"prompt_tokens":1.5}}`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			var c Chunk
			err := ParseChunk([]byte(tc.data), &c)
			if !errors.Is(err, ErrInvalidResponse) {
				t.Fatalf("got %v, want ErrInvalidResponse", err)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestAppendChunkWithDeltas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		data string
		set  []DeltaEdit
		want string
	}{
		{"no edits", deepseekContent, nil, deepseekContent},
		{"other index untouched", deepseekContent, []DeltaEdit{{Index: 1, Content: ptr("x")}}, deepseekContent},
		{"content set", deepseekContent, []DeltaEdit{{Content: ptr("[MASKED] <b>")}},
			`{"id":"5a9f0d2e-7c1b-4d8e-9a3f-2b6c8d1e0f47","object":"chat.completion.chunk","created":1737000000,"model":"deepseek-reasoner","system_fingerprint":"fp_5417b77867_prod0225","choices":[{"index":0,"delta":{"content":"[MASKED] <b>","reasoning_content":null},"logprobs":null,"finish_reason":null}]}`},
		{"reasoning set, index after delta", `{"choices":[{"delta":{"reasoning_content":"secret","x":1},"index":2}],"id":"a"}`,
			[]DeltaEdit{{Index: 2, Reasoning: ptr("[redacted]")}},
			`{"choices":[{"delta":{"reasoning_content":"[redacted]","x":1},"index":2}],"id":"a"}`},
		{"vllm reasoning set in place", vllmReasoningNew, []DeltaEdit{{Reasoning: ptr("r")}},
			`{"id":"chatcmpl-b3f1","object":"chat.completion.chunk","created":1737000001,"model":"r1","choices":[{"index":0,"delta":{"reasoning":"r"},"logprobs":null,"finish_reason":null}]}`},
		{"reasoning dropped", deepseekReasoning, []DeltaEdit{{DropReasoning: true}},
			`{"id":"5a9f0d2e-7c1b-4d8e-9a3f-2b6c8d1e0f47","object":"chat.completion.chunk","created":1737000000,"model":"deepseek-reasoner","system_fingerprint":"fp_5417b77867_prod0225","choices":[{"index":0,"delta":{"content":null},"logprobs":null,"finish_reason":null}]}`},
		{"reasoning moved to content", deepseekReasoning, []DeltaEdit{{DropReasoning: true, Content: ptr("Okay, the user")}},
			`{"id":"5a9f0d2e-7c1b-4d8e-9a3f-2b6c8d1e0f47","object":"chat.completion.chunk","created":1737000000,"model":"deepseek-reasoner","system_fingerprint":"fp_5417b77867_prod0225","choices":[{"index":0,"delta":{"content":"Okay, the user"},"logprobs":null,"finish_reason":null}]}`},
		{"content null and reasoning added", ollamaChunk, []DeltaEdit{{NullContent: true, Reasoning: ptr("")}},
			`{"id":"chatcmpl-527","object":"chat.completion.chunk","created":1737000002,"model":"deepseek-r1:7b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"finish_reason":null}]}`},
		{"content dropped", `{"choices":[{"index":0,"delta":{"content":"a","role":"assistant"}}]}`, []DeltaEdit{{DropContent: true}},
			`{"choices":[{"index":0,"delta":{"role":"assistant"}}]}`},
		{"content added", `{"choices":[{"index":0,"delta":{}}]}`, []DeltaEdit{{Content: ptr("\u2028x")}},
			`{"choices":[{"index":0,"delta":{"content":"` + "\u2028" + `x"}}]}`},
		{"text completion", openaiText, []DeltaEdit{{Index: 1, Content: ptr(" there")}},
			`{"id":"cmpl-9","object":"text_completion","created":1737000004,"model":"gpt-3.5-turbo-instruct","choices":[{"text":" there","index":1,"logprobs":null,"finish_reason":"length"}]}`},
		{"two choices", `{"choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]}`,
			[]DeltaEdit{{Index: 1, Content: ptr("B")}, {Index: 0, Content: ptr("A")}},
			`{"choices":[{"index":0,"delta":{"content":"A"}},{"index":1,"delta":{"content":"B"}}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got, err := AppendChunkWithDeltas([]byte("data: "), []byte(tc.data), tc.set)
			if err != nil {
				t.Fatalf("AppendChunkWithDeltas: %v", err)
			}
			if string(got) != "data: "+tc.want {
				t.Errorf("got\n%s\nwant\ndata: %s", got, tc.want)
			}
			var c Chunk
			if err := ParseChunk(got[len("data: "):], &c); err != nil {
				t.Errorf("result does not parse: %v", err)
			}
		})
	}
}

func TestAppendCompletionWithMessages(t *testing.T) {
	t.Parallel()
	body := `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"call 555-0100","reasoning_content":"r"},"finish_reason":"stop"}],"usage":{"total_tokens":3}}`
	want := `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"call [PHONE]"},"finish_reason":"stop"}],"usage":{"total_tokens":3}}`
	got, err := AppendCompletionWithMessages(nil, []byte(body), []DeltaEdit{{Content: ptr("call [PHONE]"), DropReasoning: true}})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := AppendCompletionWithMessages(nil, []byte(`{"choices":[}`), []DeltaEdit{{Content: ptr("x")}}); !errors.Is(err, ErrInvalidResponse) {
		t.Errorf("malformed body: got %v, want ErrInvalidResponse", err)
	}
}

func TestAppendToolCallArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, in string
		set      map[int]string
		want     string
	}{
		{"streamed fragment replaced by index",
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"to\":\"j@x"}}]}}]}`,
			map[int]string{1: `{"to":"[EMAIL]`},
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"to\":\"[EMAIL]"}}]}}]}`},
		{"other tool calls kept, missing one appended",
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"a"}}]}}]}`,
			map[int]string{0: "b", 2: "tail"},
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"b"}},{"index":2,"function":{"arguments":"tail"}}]}}]}`},
		{"tool_calls added to an empty delta",
			`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
			map[int]string{0: "x"},
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"x"}}]},"finish_reason":"tool_calls"}]}`},
	}
	for _, tc := range tests {
		got, err := AppendChunkWithDeltas(nil, []byte(tc.in), []DeltaEdit{{Index: 0, ToolCallArgs: tc.set}})
		if err != nil || string(got) != tc.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tc.desc, got, err, tc.want)
		}
	}
	// A whole message: tool calls without an index are found by position.
	body := `{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[` +
		`{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},` +
		`{"id":"b","type":"function","function":{"name":"g","arguments":"{\"ssn\":\"078-05-1120\"}"}}]}}]}`
	got, err := AppendCompletionWithMessages(nil, []byte(body), []DeltaEdit{{Index: 0, ToolCallArgs: map[int]string{1: `{"ssn":"[SSN]"}`}}})
	want := strings.Replace(body, `078-05-1120`, `[SSN]`, 1)
	if err != nil || string(got) != want {
		t.Errorf("whole message:\n got %s (%v)\nwant %s", got, err, want)
	}
	var c Chunk
	if err := ParseCompletion([]byte(body), &c); err != nil || !reflect.DeepEqual(c.Choices[0].ToolCallIndex, []int{0, 1}) {
		t.Errorf("tool call positions %v (%v)", c.Choices[0].ToolCallIndex, err)
	}
}

// A reused chunk reports the model of the answer it parsed, or none: never
// the model of the answer it held before.
func TestParseCompletionReusedChunk(t *testing.T) {
	t.Parallel()
	var c Chunk
	if err := ParseCompletion([]byte(`{"model":"tenant-a-model","choices":[{"index":0,"message":{"role":"assistant","content":"a\nb"}}]}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Model != "tenant-a-model" || c.Choices[0].Content != "a\nb" {
		t.Fatalf("first answer: %q %+v", c.Model, c.Choices)
	}
	if !c.Recycle() || len(c.Choices) != 0 || c.Model != "" {
		t.Fatalf("Recycle left %q %+v", c.Model, c.Choices)
	}
	if all := c.Choices[:cap(c.Choices)]; len(all) > 0 && all[0].Content != "" {
		t.Fatalf("Recycle kept the answer's text %q", all[0].Content)
	}
	if strings.Contains(string(c.s.scratch[:cap(c.s.scratch)]), "a\nb") {
		t.Fatal("Recycle kept the answer's text in its unescaping buffer")
	}
	if err := ParseCompletion([]byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"b"}}]}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Model != "" {
		t.Fatalf("an answer without a model reports %q", c.Model)
	}
	// Without Recycle in between too.
	_ = ParseCompletion([]byte(`{"model":"m2","choices":[]}`), &c)
	_ = ParseCompletion([]byte(`{"choices":[]}`), &c)
	if c.Model != "" {
		t.Fatalf("an answer without a model reports %q", c.Model)
	}
	// A chunk that grew a large buffer is not kept.
	long := strings.Repeat(`x\n`, 40<<10)
	if err := ParseCompletion([]byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"`+long+`"}}]}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Recycle() {
		t.Fatal("Recycle kept a chunk with an 80 KiB buffer")
	}
}
