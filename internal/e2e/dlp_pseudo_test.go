package e2e_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/rampart-gw/rampart/internal/sim"
)

// TestDLPPseudonymizeRoundTrip: with pseudonymize in requests, the
// simulator in echo mode receives placeholders only and answers with them;
// the client gets its own values back, whole and streamed (the placeholders
// split across events by the simulator's word pacing), through the
// official SDK. Neither the logs nor the simulator ever hold the values.
func TestDLPPseudonymizeRoundTrip(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{Echo: true}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}},
		"dlp: {enabled: true, request: {pii: pseudonymize}}\n")
	s := e.sims["sim"]
	ctx := context.Background()
	const email, phone = "jane.doe@example.com", "+44 20 7946 0958"
	// Filler longer than the stream's hold-back, so that the answer leaves
	// in many events and the placeholders are restored mid-stream.
	filler := strings.Repeat("the quarterly invoice is overdue ", 20)
	prompt := "Write to " + email + " " + filler + " or call " + phone + " " + filler + " thanks."
	params := openai.ChatCompletionNewParams{
		Model:    "deepseek-chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}

	whole, err := e.client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	st := e.client.Chat.Completions.NewStreaming(ctx, params)
	var streamed strings.Builder
	events := 0
	for st.Next() {
		for _, ch := range st.Current().Choices {
			if ch.Delta.Content != "" {
				events++
			}
			streamed.WriteString(ch.Delta.Content)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{"whole": whole.Choices[0].Message.Content, "streamed": streamed.String()} {
		if !strings.Contains(got, email) || !strings.Contains(got, phone) || strings.Contains(got, "<EMAIL_") {
			t.Errorf("%s answer %q: want the client's values restored", name, got)
		}
	}
	if events < 5 {
		t.Errorf("the stream came in %d content events; the test needs it split", events)
	}
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("the simulator saw %d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		body := string(r.Body)
		if strings.Contains(body, email) || strings.Contains(body, "7946") {
			t.Errorf("a value reached the simulator: %s", body)
		}
		if !strings.Contains(body, "<EMAIL_1>") {
			t.Errorf("no placeholder upstream: %s", body)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, email) || strings.Contains(logs, "7946 0958") {
		t.Error("a value appears in the logs")
	}
}
