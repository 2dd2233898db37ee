package sim

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
)

func TestCompletions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc, body string
		stream     bool
		wantText   string
		status     int
	}{
		{"non-streaming echo", `{"model":"deepseek-chat","prompt":"once upon a time"}`, false, "once upon a time", 200},
		{"streaming echo with array prompt", `{"model":"deepseek-chat","prompt":["say it"],"stream":true,"stream_options":{"include_usage":true}}`, true, "say it", 200},
		{"max_tokens cuts", `{"model":"deepseek-chat","prompt":"a b c d","max_tokens":2}`, false, "a b ", 200},
		{"bad prompt", `{"model":"deepseek-chat","prompt":7}`, false, "", 400},
		{"unknown model", `{"model":"nope","prompt":"x"}`, false, "", 404},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, Options{Flavor: FlavorVLLM, Echo: true})
			resp := post(testCtx(t), t, ts.URL+"/v1/completions", c.body, nil)
			raw, err := readAll(t, resp)
			if err != nil || resp.StatusCode != c.status {
				t.Fatalf("status %d err %v: %s", resp.StatusCode, err, raw)
			}
			if c.status != 200 {
				return
			}
			var text string
			if c.stream {
				st := parseStream(t, raw)
				if !st.done || st.usage == nil || st.chunks[0].Object != "text_completion" {
					t.Errorf("stream shape: done=%v usage=%v", st.done, st.usage)
				}
				text = st.content
			} else {
				var body struct {
					Object  string `json:"object"`
					Choices []struct {
						Text string `json:"text"`
					} `json:"choices"`
				}
				if err := json.Unmarshal(raw, &body); err != nil || body.Object != "text_completion" {
					t.Fatalf("body %s: %v", raw, err)
				}
				text = body.Choices[0].Text
			}
			if text != c.wantText {
				t.Errorf("text %q, want %q", text, c.wantText)
			}
		})
	}
}

func TestEmbeddings(t *testing.T) {
	t.Parallel()
	_, ts := startSim(t, Options{Seed: 9})
	get := func(input string) [][]float64 {
		resp := post(testCtx(t), t, ts.URL+"/embeddings", `{"model":"deepseek-chat","input":`+input+`}`, nil)
		raw, _ := readAll(t, resp)
		var body struct {
			Object string `json:"object"`
			Data   []struct {
				Index     int       `json:"index"`
				Embedding []float64 `json:"embedding"`
			} `json:"data"`
			Usage struct {
				PromptTokens int `json:"prompt_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(raw, &body); err != nil || body.Object != "list" || body.Usage.PromptTokens < 1 {
			t.Fatalf("body %s: %v", raw, err)
		}
		var out [][]float64
		for i, d := range body.Data {
			if d.Index != i || len(d.Embedding) != embeddingDim {
				t.Fatalf("item %d: %+v", i, d)
			}
			var norm float64
			for _, f := range d.Embedding {
				norm += f * f
			}
			if math.Abs(norm-1) > 1e-4 {
				t.Errorf("vector not unit length: %v", norm)
			}
			out = append(out, d.Embedding)
		}
		return out
	}
	one := get(`"alpha"`)
	many := get(`["alpha","beta"]`)
	if len(one) != 1 || len(many) != 2 {
		t.Fatalf("got %d and %d vectors", len(one), len(many))
	}
	if !equalVec(one[0], many[0]) || equalVec(many[0], many[1]) {
		t.Errorf("vectors are not a deterministic function of the input")
	}
	resp := post(testCtx(t), t, ts.URL+"/v1/embeddings", `{"model":"deepseek-chat","input":[]}`, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("empty input: status %d", resp.StatusCode)
	}
}

func equalVec(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestModelsAndHealth(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc, flavor string
		models       []string
		want         []string
	}{
		{"deepseek defaults", FlavorDeepSeek, nil, []string{"deepseek-reasoner", "deepseek-chat"}},
		{"ollama defaults", FlavorOllama, nil, []string{"deepseek-reasoner", "deepseek-chat", "deepseek-r1:7b"}},
		{"configured", FlavorVLLM, []string{"r1-distill"}, []string{"r1-distill"}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			_, ts := startSim(t, Options{Flavor: c.flavor, Models: c.models})
			for _, path := range []string{"/v1/models", "/models"} {
				req, _ := http.NewRequestWithContext(testCtx(t), http.MethodGet, ts.URL+path, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := readAll(t, resp)
				var body struct {
					Object string `json:"object"`
					Data   []struct {
						ID, Object string
					} `json:"data"`
				}
				if err := json.Unmarshal(raw, &body); err != nil || body.Object != "list" {
					t.Fatalf("%s: %s", path, raw)
				}
				var ids []string
				for _, d := range body.Data {
					ids = append(ids, d.ID)
				}
				if strings.Join(ids, ",") != strings.Join(c.want, ",") {
					t.Errorf("%s: models %v, want %v", path, ids, c.want)
				}
			}
			req, _ := http.NewRequestWithContext(testCtx(t), http.MethodGet, ts.URL+"/health", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("health %d", resp.StatusCode)
			}
		})
	}
}
