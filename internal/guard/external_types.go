package guard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

var errBadAnswer = errors.New("malformed guard answer")

// webhook is Rampart's own contract: POST {"messages":[{"role","text"}]},
// answer {"action":"pass"|"mask"|"reject","score":0.9,"category":"...",
// "messages":[...]} where messages carries the masked texts for mask.
type webhook struct{ cfg ExternalConfig }

// WebhookMessage is one message in the webhook contract.
type WebhookMessage struct {
	Role string `json:"role"`
	Text string `json:"text"`
}

// WebhookRequest is the body Rampart posts to a webhook guard.
type WebhookRequest struct {
	// Direction is input for a request's messages, output for an answer,
	// whose messages have role assistant (the answer) and reasoning.
	Direction string           `json:"direction"`
	Messages  []WebhookMessage `json:"messages"`
}

// WebhookResponse is the answer a webhook guard returns.
type WebhookResponse struct {
	Action   string           `json:"action"`
	Score    float64          `json:"score,omitempty"`
	Category string           `json:"category,omitempty"`
	Messages []WebhookMessage `json:"messages,omitempty"`
}

func (w webhook) call(ctx context.Context, hc *http.Client, dir string, msgs []Message) (decision, error) {
	req := WebhookRequest{Direction: dir, Messages: make([]WebhookMessage, len(msgs))}
	for i, m := range msgs {
		req.Messages[i] = WebhookMessage(m)
	}
	var resp WebhookResponse
	if err := postJSON(ctx, hc, w.cfg.URL, w.cfg.APIKey, req, &resp); err != nil {
		return decision{}, err
	}
	d := decision{action: resp.Action, score: resp.Score, category: resp.Category}
	switch resp.Action {
	case "pass", "reject":
	case "mask":
		if len(resp.Messages) != len(msgs) {
			return decision{}, fmt.Errorf("%w: mask with %d messages for %d", errBadAnswer, len(resp.Messages), len(msgs))
		}
		for _, m := range resp.Messages {
			d.masked = append(d.masked, Message(m))
		}
	default:
		return decision{}, fmt.Errorf("%w: action %q", errBadAnswer, resp.Action)
	}
	if d.score == 0 && d.action != "pass" {
		d.score = 1
	}
	return d, nil
}

// moderation speaks the OpenAI moderation API (POST /v1/moderations).
type moderation struct{ cfg ExternalConfig }

type moderationResponse struct {
	Results []struct {
		Flagged        bool               `json:"flagged"`
		CategoryScores map[string]float64 `json:"category_scores"`
	} `json:"results"`
}

func (m moderation) call(ctx context.Context, hc *http.Client, dir string, msgs []Message) (decision, error) {
	in := make([]string, 0, len(msgs))
	for _, x := range msgs {
		if dir == dirOutput && x.Role == "user" {
			continue // context for Llama Guard, not a text to moderate here
		}
		in = append(in, x.Text)
	}
	req := map[string]any{"input": in}
	if m.cfg.Model != "" {
		req["model"] = m.cfg.Model
	}
	var resp moderationResponse
	if err := postJSON(ctx, hc, m.cfg.URL, m.cfg.APIKey, req, &resp); err != nil {
		return decision{}, err
	}
	if len(resp.Results) == 0 {
		return decision{}, fmt.Errorf("%w: no results", errBadAnswer)
	}
	d := decision{action: "pass"}
	for _, r := range resp.Results {
		if !r.Flagged {
			continue
		}
		d.action = "reject"
		for k, v := range r.CategoryScores {
			if v > d.score || (v == d.score && k < d.category) {
				d.score, d.category = v, k
			}
		}
	}
	return d, nil
}

// llamaGuard asks a Llama Guard 3 model on an OpenAI-compatible server
// (POST {url}/completions) with the model's own prompt format, and parses
// "safe" or "unsafe\nS1,S10".
type llamaGuard struct{ cfg ExternalConfig }

type completionResponse struct {
	Choices []struct {
		Text string `json:"text"`
	} `json:"choices"`
}

func (l llamaGuard) call(ctx context.Context, hc *http.Client, dir string, msgs []Message) (decision, error) {
	prompt := LlamaGuardPrompt(msgs)
	if dir == dirOutput {
		prompt = LlamaGuardResponsePrompt(msgs)
	}
	req := map[string]any{"model": l.cfg.Model, "prompt": prompt, "max_tokens": 20, "temperature": 0}
	var resp completionResponse
	if err := postJSON(ctx, hc, joinURL(l.cfg.URL, "/completions"), l.cfg.APIKey, req, &resp); err != nil {
		return decision{}, err
	}
	if len(resp.Choices) == 0 {
		return decision{}, fmt.Errorf("%w: no choices", errBadAnswer)
	}
	return parseLlamaGuard(resp.Choices[0].Text)
}

func parseLlamaGuard(out string) (decision, error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	switch strings.TrimSpace(lines[0]) {
	case "safe":
		return decision{action: "pass"}, nil
	case "unsafe":
		d := decision{action: "reject", score: 1}
		if len(lines) > 1 {
			d.category = strings.TrimSpace(strings.Split(lines[1], ",")[0])
		}
		return d, nil
	}
	return decision{}, fmt.Errorf("%w: %.40q", errBadAnswer, out)
}

// llamaGuardCategories is the category list of the Llama Guard 3 prompt.
const llamaGuardCategories = `S1: Violent Crimes.
S2: Non-Violent Crimes.
S3: Sex Crimes.
S4: Child Exploitation.
S5: Defamation.
S6: Specialized Advice.
S7: Privacy.
S8: Intellectual Property.
S9: Indiscriminate Weapons.
S10: Hate.
S11: Self-Harm.
S12: Sexual Content.
S13: Elections.
S14: Code Interpreter Abuse.`

// LlamaGuardPrompt renders messages in Llama Guard 3's prompt format,
// asking about the last user turn.
func LlamaGuardPrompt(msgs []Message) string { return llamaGuardPrompt(msgs, "User") }

// LlamaGuardResponsePrompt renders messages in Llama Guard 3's response
// classification format, asking about the last agent turn (the answer).
// Reasoning is shown as part of the agent's turn.
func LlamaGuardResponsePrompt(msgs []Message) string {
	var conv []Message
	var agent []string
	for _, m := range msgs {
		if m.Role == "assistant" || m.Role == "reasoning" {
			agent = append(agent, m.Text)
			continue
		}
		conv = append(conv, m)
	}
	conv = append(conv, Message{Role: "assistant", Text: strings.Join(agent, "\n\n")})
	return llamaGuardPrompt(conv, "Agent")
}

func llamaGuardPrompt(msgs []Message, judged string) string {
	var b strings.Builder
	b.WriteString("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n")
	b.WriteString("Task: Check if there is unsafe content in '" + judged + "' messages in conversations according our safety policy with the below categories.\n\n")
	b.WriteString("<BEGIN UNSAFE CONTENT CATEGORIES>\n" + llamaGuardCategories + "\n<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n")
	for _, m := range msgs {
		who := "User"
		if m.Role == "assistant" || m.Role == "reasoning" {
			who = "Agent"
		}
		b.WriteString(who + ": " + m.Text + "\n\n")
	}
	b.WriteString("<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST " + judged + " message in the above conversation:\n")
	b.WriteString(" - First line must read 'safe' or 'unsafe'.\n - If unsafe, a second line must include a comma-separated list of violated categories.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
	return b.String()
}
