package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// reasoningShape is where a flavour puts a reasoning model's thoughts.
func reasoningShape(flavor string) string {
	switch flavor {
	case FlavorVLLMNoParser:
		return "inline-noopen"
	case FlavorOllama:
		return "inline"
	}
	return "field"
}

func TestChatFormats(t *testing.T) {
	t.Parallel()
	type tc struct {
		desc         string
		flavor       string
		model        string
		stream       bool
		includeUsage bool
	}
	var cases []tc
	for _, fl := range []string{FlavorDeepSeek, FlavorVLLM, FlavorVLLMNoParser, FlavorSGLang, FlavorOllama} {
		for _, model := range append([]string{"deepseek-reasoner", "deepseek-chat"}, flavors[fl].defaultModels[2:]...) {
			for _, stream := range []bool{false, true} {
				for _, inc := range []bool{false, true} {
					if inc && !stream {
						continue
					}
					cases = append(cases, tc{fmt.Sprintf("%s/%s/stream=%v/usage=%v", fl, model, stream, inc), fl, model, stream, inc})
				}
			}
		}
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, Options{Flavor: c.flavor, Seed: 7, ReasoningTokens: 5, AnswerTokens: 4})
			body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello"}],"stream":%v,"stream_options":{"include_usage":%v}}`, c.model, c.stream, c.includeUsage)
			if !c.stream {
				body = fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello"}]}`, c.model)
			}
			resp := post(testCtx(t), t, ts.URL+"/v1/chat/completions", body, nil)
			raw, err := readAll(t, resp)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, err %v: %s", resp.StatusCode, err, raw)
			}
			reasons := strings.Contains(c.model, "reasoner") || strings.Contains(strings.ToLower(c.model), "r1")
			var reasoning, content, finish string
			var u *usage
			if c.stream {
				checkStreamShape(t, c.flavor, c.includeUsage, resp, raw)
				st := parseStream(t, raw)
				reasoning, content, finish, u = st.reasoning, st.content, st.finish, st.usage
			} else {
				if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				var cb completionBody
				if err := json.Unmarshal(raw, &cb); err != nil {
					t.Fatalf("decode %s: %v", raw, err)
				}
				if cb.Object != "chat.completion" || cb.Model != c.model || len(cb.Choices) != 1 {
					t.Fatalf("bad body %s", raw)
				}
				m := cb.Choices[0].Message
				if m["role"] != "assistant" {
					t.Errorf("role %v", m["role"])
				}
				reasoning, _ = m["reasoning_content"].(string)
				content, _ = m["content"].(string)
				finish, u = cb.Choices[0].FinishReason, &cb.Usage
			}
			checkReasoning(t, c.flavor, reasons, reasoning, content)
			if finish != "stop" {
				t.Errorf("finish_reason %q, want stop", finish)
			}
			wantUsage := !c.stream || c.includeUsage || c.flavor == FlavorDeepSeek
			if (u != nil) != wantUsage {
				t.Fatalf("usage present %v, want %v: %s", u != nil, wantUsage, raw)
			}
			if u == nil {
				return
			}
			wantCompletion := 4
			if reasons {
				wantCompletion = 9
			}
			if u.CompletionTokens != wantCompletion || u.PromptTokens < 1 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("usage %+v, want %d completion tokens", *u, wantCompletion)
			}
			if c.flavor == FlavorDeepSeek && reasons && (u.CompletionTokensDetails == nil || u.CompletionTokensDetails.ReasoningTokens != 5) {
				t.Errorf("reasoning_tokens missing or wrong: %s", raw)
			}
		})
	}
}

// checkReasoning asserts where the reasoning went for the flavour.
func checkReasoning(t *testing.T, flavor string, reasons bool, reasoning, content string) {
	t.Helper()
	if content == "" {
		t.Fatal("empty content")
	}
	if !reasons {
		if reasoning != "" || strings.Contains(content, "think>") {
			t.Errorf("non-reasoning model reasoned: %q / %q", reasoning, content)
		}
		return
	}
	switch reasoningShape(flavor) {
	case "field":
		if len(strings.Fields(reasoning)) != 5 || strings.Contains(content, "think>") {
			t.Errorf("reasoning %q, content %q", reasoning, content)
		}
	case "inline":
		if !strings.HasPrefix(content, "<think>\n") || !strings.Contains(content, "\n</think>\n\n") || reasoning != "" {
			t.Errorf("ollama content %q", content)
		}
	case "inline-noopen":
		if strings.Contains(content, "<think>") || !strings.Contains(content, "\n</think>\n\n") || reasoning != "" {
			t.Errorf("no-parser content %q", content)
		}
	}
}

// checkStreamShape asserts the SSE framing and where usage goes.
func checkStreamShape(t *testing.T, flavor string, includeUsage bool, resp *http.Response, raw []byte) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.HasSuffix(string(raw), "data: [DONE]\n\n") {
		t.Errorf("stream does not end with [DONE]")
	}
	st := parseStream(t, raw)
	for _, c := range st.chunks {
		if c.Object != "chat.completion.chunk" || c.ID != st.chunks[0].ID {
			t.Fatalf("bad chunk %+v", c)
		}
	}
	last := st.chunks[len(st.chunks)-1]
	switch {
	case includeUsage:
		if len(last.Choices) != 0 || last.Usage == nil {
			t.Errorf("include_usage: last chunk should have no choices and usage: %+v", last)
		}
	case flavor == FlavorDeepSeek:
		if !st.usageInFinish {
			t.Errorf("deepseek puts usage in the finishing chunk")
		}
	}
}

func TestStreamMatchesNonStream(t *testing.T) {
	t.Parallel()
	for _, fl := range []string{FlavorDeepSeek, FlavorVLLM, FlavorVLLMNoParser, FlavorOllama} {
		t.Run(fl, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, Options{Flavor: fl, Seed: 3})
			msgs := `"messages":[{"role":"user","content":"compare"}]`
			raw, _ := readAll(t, post(testCtx(t), t, ts.URL+"/chat/completions", `{"model":"deepseek-reasoner",`+msgs+`}`, nil))
			var cb completionBody
			if err := json.Unmarshal(raw, &cb); err != nil {
				t.Fatal(err)
			}
			sraw, _ := readAll(t, post(testCtx(t), t, ts.URL+"/chat/completions", `{"model":"deepseek-reasoner","stream":true,`+msgs+`}`, nil))
			st := parseStream(t, sraw)
			r, _ := cb.Choices[0].Message["reasoning_content"].(string)
			if st.content != cb.Choices[0].Message["content"] || st.reasoning != r {
				t.Errorf("stream %q/%q differs from body %q/%q", st.reasoning, st.content, r, cb.Choices[0].Message["content"])
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	bodies := []string{
		`{"model":"deepseek-reasoner","messages":[{"role":"user","content":"a"}]}`,
		`{"model":"deepseek-reasoner","stream":true,"messages":[{"role":"user","content":"a"}]}`,
		`{"model":"deepseek-chat","messages":[{"role":"user","content":"b"}],"max_tokens":3}`,
	}
	run := func(seed int64) []string {
		_, ts := startSim(t, Options{Flavor: FlavorOllama, Seed: seed})
		var out []string
		for _, b := range bodies {
			raw, err := readAll(t, post(testCtx(t), t, ts.URL+"/v1/chat/completions", b, nil))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(raw))
		}
		return out
	}
	a, b, c := run(42), run(42), run(43)
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("request %d: same seed gave different bytes:\n%s\n%s", i, a[i], b[i])
		}
		if a[i] == c[i] {
			t.Errorf("request %d: different seeds gave the same bytes", i)
		}
	}
}

func TestThinkTagSplitAcrossChunks(t *testing.T) {
	t.Parallel()
	for _, fl := range []string{FlavorOllama, FlavorVLLMNoParser} {
		t.Run(fl, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, Options{Flavor: fl, ReasoningTokens: 3, AnswerTokens: 2})
			split, whole := 0, 0
			for seed := range 16 {
				body := fmt.Sprintf(`{"model":"deepseek-reasoner","stream":true,"messages":[{"role":"user","content":"q%d"}]}`, seed)
				raw, err := readAll(t, post(testCtx(t), t, ts.URL+"/v1/chat/completions", body, nil))
				if err != nil {
					t.Fatal(err)
				}
				var pieces []string
				for _, c := range parseStream(t, raw).chunks {
					if len(c.Choices) > 0 {
						s, _ := c.Choices[0].Delta["content"].(string)
						pieces = append(pieces, s)
					}
				}
				for _, p := range pieces {
					switch {
					case strings.Contains(p, "</think>"):
						whole++
					case strings.Contains(p, "</") || strings.HasSuffix(p, "</th") || (strings.Contains(p, "<") && !strings.Contains(p, ">")):
						split++
					}
				}
				if got := strings.Join(pieces, ""); !strings.Contains(got, "\n</think>\n\n") {
					t.Fatalf("reassembled stream lacks the closing tag: %q", got)
				}
			}
			if split == 0 || whole == 0 {
				t.Errorf("want both split and whole closing tags over 16 prompts, got split=%d whole=%d", split, whole)
			}
		})
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc, flavor, content, want string
	}{
		{"string content", FlavorDeepSeek, `"say this back"`, "say this back"},
		{"array content", FlavorVLLM, `[{"type":"text","text":"part one"},{"type":"image_url","image_url":{"url":"x"}}]`, "part one"},
		{"ollama keeps think tags", FlavorOllama, `"echo me"`, "echo me"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, Options{Flavor: c.flavor, Echo: true})
			body := `{"model":"deepseek-reasoner","messages":[{"role":"system","content":"sys"},{"role":"user","content":` + c.content + `}]}`
			raw, _ := readAll(t, post(testCtx(t), t, ts.URL+"/v1/chat/completions", body, nil))
			var cb completionBody
			if err := json.Unmarshal(raw, &cb); err != nil {
				t.Fatal(err)
			}
			content, _ := cb.Choices[0].Message["content"].(string)
			if _, answer, _ := strings.Cut(content, "</think>\n\n"); answer != "" {
				content = answer
			}
			if content != c.want {
				t.Errorf("content %q, want %q", content, c.want)
			}
		})
	}
}
