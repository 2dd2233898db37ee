package e2e_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/rampart-gw/rampart/internal/sim"
)

// TestAuthzSDK drives the authorization rules with the official SDK: the
// team of the test key may chat with one model without streaming; the
// rest is refused with 403 before the upstream sees it, and the model list
// shows only the allowed model.
func TestAuthzSDK(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat, deepseek-reasoner", Upstreams: "sim"}},
		`authz:
  mode: deny_overrides
  default: deny
  rules:
    - {name: qa-no-stream, when: 'principal.team == "qa" && request.stream', action: deny}
    - {name: qa-chat, when: 'principal.team == "qa" && request.model == "deepseek-chat"', action: allow}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")}

	resp, err := e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "deepseek-chat", Messages: msgs})
	if err != nil || len(resp.Choices) == 0 || resp.Choices[0].Message.Content == "" {
		t.Fatalf("allowed chat: %v", err)
	}
	seen := len(e.sims["sim"].Requests())

	_, err = e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "deepseek-reasoner", Messages: msgs})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Type != "permission_error" || apiErr.Code != "permission_denied" {
		t.Fatalf("model outside the rules: %v", err)
	}
	if strings.Contains(apiErr.Message, "qa-") {
		t.Errorf("the refusal names a rule: %s", apiErr.Message)
	}

	st := e.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "deepseek-chat", Messages: msgs})
	for st.Next() {
		t.Error("a denied stream delivered a chunk")
	}
	if !errors.As(st.Err(), &apiErr) || apiErr.StatusCode != 403 {
		t.Fatalf("denied stream: %v", st.Err())
	}
	_ = st.Close()
	if n := len(e.sims["sim"].Requests()); n != seen {
		t.Errorf("the upstream saw %d denied requests", n-seen)
	}

	page, err := e.client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "deepseek-chat" {
		t.Errorf("models = %v", ids)
	}
}
