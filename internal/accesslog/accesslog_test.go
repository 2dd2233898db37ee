package accesslog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/record"
)

func TestLineHasTheRecordWithoutContent(t *testing.T) {
	t.Parallel()
	const secret = "jane.secret@example.org"
	rec := &record.Record{
		ID: "req-1", ClientIP: "10.0.0.1", Method: "POST", Path: "/v1/chat/completions",
		Principal:      record.Principal{Kind: "api_key", ID: "key_abc", Team: "blue"},
		ModelRequested: "deepseek-chat", ModelServed: "deepseek-chat-v3", Route: "r", Upstream: "u", Attempts: 1,
		Status: 200, Outcome: "ok", Duration: 3 * time.Millisecond, TTFT: time.Millisecond,
		Usage:   record.Usage{PromptTokens: 5, CompletionTokens: 7, CachedTokens: 2, TotalTokens: 12},
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		Content: &record.Content{Prompt: "mail " + secret, Response: secret},
	}
	rec.AddVerdict(record.Verdict{Stage: "dlp", Rule: "EMAIL_ADDRESS", Action: "mask", Detail: "1 finding"})
	var buf bytes.Buffer
	New(slog.New(slog.NewJSONHandler(&buf, nil))).Record(rec)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	want := map[string]any{
		"request_id": "req-1", "principal": "key_abc", "team": "blue", "model": "deepseek-chat",
		"model_served": "deepseek-chat-v3", "status": float64(200), "cached_tokens": float64(2),
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if vs, _ := line["verdicts"].([]any); len(vs) != 1 || vs[0] != "dlp:EMAIL_ADDRESS:mask" {
		t.Errorf("verdicts = %v", line["verdicts"])
	}
	if strings.Contains(buf.String(), secret) {
		t.Errorf("the access log holds captured content: %s", buf.String())
	}
}
