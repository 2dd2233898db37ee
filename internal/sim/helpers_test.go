package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fixedNow is the clock of tests that compare bytes.
func fixedNow() time.Time { return time.Unix(1738000000, 0) }

// startSim runs a simulator on a loopback listener for the test's lifetime.
func startSim(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// testCtx bounds a test in time.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// post sends a JSON body with optional headers.
func post(ctx context.Context, t *testing.T, url, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// readAll reads a response body; a truncated body returns what arrived and
// the error.
func readAll(t *testing.T, resp *http.Response) ([]byte, error) {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	return io.ReadAll(resp.Body)
}

// sseEvents splits an SSE body into its data payloads, in order.
func sseEvents(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

// chunk is the decoded shape of a chat.completion.chunk.
type chunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Delta        map[string]any `json:"delta"`
		FinishReason *string        `json:"finish_reason"`
		Text         *string        `json:"text"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

type usage struct {
	PromptTokens            int `json:"prompt_tokens"`
	CompletionTokens        int `json:"completion_tokens"`
	TotalTokens             int `json:"total_tokens"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// streamed is what a stream said, reassembled.
type streamed struct {
	chunks             []chunk
	reasoning, content string
	finish             string
	usage              *usage
	usageInFinish      bool
	done               bool
}

// parseStream decodes every event of a chat stream.
func parseStream(t *testing.T, body []byte) streamed {
	t.Helper()
	var st streamed
	for _, ev := range sseEvents(t, body) {
		if ev == "[DONE]" {
			st.done = true
			continue
		}
		var c chunk
		if err := json.Unmarshal([]byte(ev), &c); err != nil {
			t.Fatalf("bad chunk %q: %v", ev, err)
		}
		st.chunks = append(st.chunks, c)
		if c.Usage != nil {
			st.usage = c.Usage
			st.usageInFinish = len(c.Choices) > 0
		}
		for _, ch := range c.Choices {
			if s, ok := ch.Delta["reasoning_content"].(string); ok {
				st.reasoning += s
			}
			if s, ok := ch.Delta["content"].(string); ok {
				st.content += s
			}
			if ch.Text != nil {
				st.content += *ch.Text
			}
			if ch.FinishReason != nil {
				st.finish = *ch.FinishReason
			}
		}
	}
	return st
}

// completionBody is the decoded shape of a chat.completion.
type completionBody struct {
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Message      map[string]any `json:"message"`
		FinishReason string         `json:"finish_reason"`
	} `json:"choices"`
	Usage usage `json:"usage"`
}
