package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
)

func newCaptureStage(t testing.TB, cfg dlp.Config, max int) captureStage {
	cfg.Enabled = true
	s, err := dlp.New(captureDLP(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return captureStage{s: s, max: max}
}

func captureCall(t testing.TB, body string) *proxy.Call {
	req, err := openai.Decode(openai.Chat, []byte(body), openai.Limits{MaxDepth: 64})
	if err != nil {
		t.Fatal(err)
	}
	return &proxy.Call{Req: req, Rec: &record.Record{}}
}

// TestCaptureMasksWhateverTheAction: captured text never holds a value
// DLP found, whatever the configured action, and is cut to the cap after
// masking.
func TestCaptureMasksWhateverTheAction(t *testing.T) {
	t.Parallel()
	const email, card, key = "jane.doe@example.com", "4111 1111 1111 1111", "AKIAZ7VQX2M4TB3WJQ5N"
	body := `{"model":"m","messages":[{"role":"system","content":"mail ` + email + `"},{"role":"user","content":"card ` + card + ` key ` + key + `"}]}`
	tests := []struct {
		desc string
		cfg  dlp.Config
		want []string // in the captured prompt
	}{
		{"defaults: mask PII, redact secrets", dlp.Config{}, []string{"system: mail ", "**** **** **** 1111", "[SECRET_AWS_ACCESS_KEY]"}},
		{"log keeps the value upstream, never in capture", dlp.Config{Request: dlp.Policy{PII: dlp.ActionLog, Secrets: dlp.ActionLog}},
			[]string{"[EMAIL]", "[CREDIT_CARD]"}},
		{"allow and block become redact", dlp.Config{Request: dlp.Policy{PII: dlp.ActionAllow, Secrets: dlp.ActionBlock}},
			[]string{"[EMAIL]", "[CREDIT_CARD]"}},
		{"pseudonymize becomes redact", dlp.Config{Request: dlp.Policy{PII: dlp.ActionPseudonymize}}, []string{"[EMAIL]"}},
		{"hash stays hash", dlp.Config{Request: dlp.Policy{PII: dlp.ActionHash}, HashKey: "k"}, []string{"[EMAIL:"}},
	}
	for _, tc := range tests {
		s := newCaptureStage(t, tc.cfg, 64<<10)
		c := captureCall(t, body)
		if err := s.Check(context.Background(), c); err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		got := c.Rec.Content.Prompt
		for _, raw := range []string{email, card, key} {
			if strings.Contains(got, raw) {
				t.Errorf("%s: captured %q holds %q", tc.desc, got, raw)
			}
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: captured %q lacks %q", tc.desc, got, w)
			}
		}
	}
	// The cap applies after masking: a value at the cut is masked, not cut.
	s := newCaptureStage(t, dlp.Config{}, 30)
	c := captureCall(t, `{"model":"m","messages":[{"role":"user","content":"xxxxxxxxxxxxx `+email+`"}]}`)
	_ = s.Check(context.Background(), c)
	if p := c.Rec.Content.Prompt; len(p) > 30 || strings.Contains(p, "jane.doe@") || strings.Contains(p, "example.com") {
		t.Errorf("capped prompt %q", p)
	}
}

func TestCaptureFilterKeepsTheFirstChoiceUpToItsBound(t *testing.T) {
	t.Parallel()
	f := &captureFilter{max: 10}
	ctx := context.Background()
	for _, w := range []struct {
		choice int
		ch     proxy.Channel
		text   string
	}{{0, proxy.Answer, "hello "}, {1, proxy.Answer, "other "}, {0, proxy.Reasoning, "think "}, {0, proxy.Answer, "world and more"}} {
		if out, err := f.Write(ctx, w.choice, w.ch, w.text); out != w.text || err != nil {
			t.Fatalf("the capture filter changed %q to %q (%v)", w.text, out, err)
		}
	}
	if got := f.b.String(); got != "hello worl" {
		t.Errorf("captured %q, want the first choice's answer cut at 10 bytes", got)
	}
}

// BenchmarkCaptureStage: a 2 KB chat prompt with an email, captured and
// masked.
func BenchmarkCaptureStage(b *testing.B) {
	s := newCaptureStage(b, dlp.Config{}, 64<<10)
	body := `{"model":"m","messages":[{"role":"system","content":"` + strings.Repeat("You are a helpful assistant. ", 30) +
		`"},{"role":"user","content":"` + strings.Repeat("Please summarise the quarterly report. ", 30) + ` Reply to jane.doe@example.com"}]}`
	b.ReportAllocs()
	for b.Loop() {
		c := captureCall(b, body)
		if err := s.Check(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}
