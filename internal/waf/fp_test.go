package waf

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// maxBlockRate is the highest share of benign chat requests the default
// configuration may block.
const maxBlockRate = 0.005

// completion is the canned answer of the fake upstream.
const completion = `{"id":"c1","object":"chat.completion","created":1,"model":"m",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`

func answer(rw http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	rw.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(rw, completion)
}

// blockRate sends every request of corpus with the official SDK through the
// stage in scope and returns how many were blocked, with their rules.
func blockRate(t *testing.T, w *WAF, scope string, corpus []openai.ChatCompletionNewParams) (int, map[int]int) {
	t.Helper()
	g := &gate{w: w, scope: scope, next: answer}
	s := serve(t, g)
	client := openai.NewClient(option.WithBaseURL(s.URL+"/v1"), option.WithAPIKey("sk-test-corpus"),
		option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	blocked, rules := 0, map[int]int{}
	for i, p := range corpus {
		_, err := client.Chat.Completions.New(ctx, p)
		var apiErr *openai.Error
		switch {
		case err == nil:
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden:
			blocked++
			for _, id := range g.verdict().RuleIDs {
				rules[id]++
			}
		default:
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return blocked, rules
}

// TestFalsePositives sends benign chat requests, the benign prompts of the
// guard corpus and generated pastes of SQL, shell, HTML and code, through
// the default configuration and bounds the share blocked.
func TestFalsePositives(t *testing.T) {
	benign, err := readBenign(benignPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Logf("%s is absent: only the generated pastes are sent", benignPath)
	} else if err != nil {
		t.Fatal(err)
	}
	corpus := chatCorpus(benign)
	blocked, rules := blockRate(t, mustDefault(t), "", corpus)
	rate := float64(blocked) / float64(len(corpus))
	t.Logf("default scope: %d of %d benign chat requests blocked (%.2f%%; %d guard prompts, %d pastes); rules: %v",
		blocked, len(corpus), 100*rate, len(benign), len(corpus)-len(benign), rules)
	if rate > maxBlockRate {
		t.Errorf("block rate %.2f%% is above %.2f%%", 100*rate, 100*maxBlockRate)
	}
	if len(corpus)-len(benign) < 100 {
		t.Errorf("only %d generated requests", len(corpus)-len(benign))
	}
	if raceEnabled || testing.Short() {
		return
	}
	// The same corpus with full-body inspection shows what the envelope
	// spares; it is reported, not asserted.
	blocked, rules = blockRate(t, mustDefault(t), ScopeFull, corpus)
	t.Logf("full scope: %d of %d blocked (%.2f%%); rules: %v",
		blocked, len(corpus), 100*float64(blocked)/float64(len(corpus)), rules)
}
