package gateway

import (
	"context"
	"maps"
	"strings"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
)

// captureMargin is how much answer text is kept beyond the cap before
// masking, so that a value cut at the raw bound still lies past the
// stored bound.
const captureMargin = 8 << 10

// captureStage keeps the request's prompt and the answer's text for the
// audit trail, masked by the DLP scanner first. It runs first of the stages
// after routing, so that requests refused by limits, guards or DLP leave
// their (masked) prompt too.
type captureStage struct {
	s   *dlp.Scanner
	max int
}

// addCapture puts the capture stage in snap when content capture is on.
func (g *Gateway) addCapture(cfg *config.Config, snap *proxy.Snapshot) error {
	if !cfg.Audit.Capture.Enabled || g.audit == nil {
		return nil
	}
	s, err := dlp.New(captureDLP(cfg.DLP))
	if err != nil {
		return err
	}
	snap.Stages = append([]proxy.Stage{captureStage{s: s, max: cfg.Audit.Capture.MaxBytes}}, snap.Stages...)
	return nil
}

// captureDLP is the DLP configuration of captured text: the configured
// detectors, with every finding replaced. An action that keeps the value
// (allow, log), needs a request (block) or a vault (pseudonymize) becomes
// redact.
func captureDLP(c dlp.Config) dlp.Config {
	c.SetDefaults()
	fix := func(p dlp.Policy) dlp.Policy {
		p.PII, p.Secrets = captureAction(p.PII), captureAction(p.Secrets)
		p.Types = maps.Clone(p.Types)
		for k, a := range p.Types {
			p.Types[k] = captureAction(a)
		}
		return p
	}
	c.Request, c.Response = fix(c.Request), fix(c.Response)
	return c
}

func captureAction(a dlp.Action) dlp.Action {
	switch a {
	case dlp.ActionMask, dlp.ActionRedact, dlp.ActionHash:
		return a
	}
	return dlp.ActionRedact
}

// mask applies the capture scanner and cuts the result to the cap.
func (s captureStage) mask(text string, dir dlp.Direction) string {
	out, _, _ := s.s.Apply(text, dir, nil)
	if s.max > 0 && len(out) > s.max {
		out = strings.ToValidUTF8(out[:s.max], "")
	}
	return out
}

// Check implements proxy.Stage.
func (s captureStage) Check(_ context.Context, c *proxy.Call) error {
	var b strings.Builder
	line := func(role, text string) {
		b.WriteString(role)
		b.WriteString(": ")
		b.WriteString(text)
		b.WriteByte('\n')
	}
	for _, m := range c.Req.Messages {
		line(m.Role, m.Content)
		for _, a := range m.ToolCallArgs {
			line(m.Role+" tool call", a)
		}
	}
	for _, p := range c.Req.Prompt {
		line("prompt", p)
	}
	for _, in := range c.Req.Input {
		line("input", in)
	}
	c.Rec.Content = &record.Content{Prompt: s.mask(b.String(), dlp.Request)}
	if c.Req.Endpoint != openai.Chat {
		// Only chat answers are captured: a completions answer passes the
		// response filters too, but its prompt is the captured content.
		return nil
	}
	f := &captureFilter{max: s.max + captureMargin}
	c.AddFilter(f)
	c.OnFinish(func(rec *record.Record) {
		if rec.Content != nil && f.b.Len() > 0 {
			rec.Content.Response = s.mask(strings.ToValidUTF8(f.b.String(), ""), dlp.Response)
		}
	})
	return nil
}

// captureFilter keeps the first choice's answer as the model sent it, up
// to a bound; it changes nothing.
type captureFilter struct {
	b   strings.Builder
	max int
}

// Write implements proxy.Filter.
func (f *captureFilter) Write(_ context.Context, choice int, ch proxy.Channel, text string) (string, error) {
	if choice == 0 && ch == proxy.Answer && f.b.Len() < f.max {
		f.b.WriteString(text[:min(len(text), f.max-f.b.Len())])
	}
	return text, nil
}

// Flush implements proxy.Filter.
func (f *captureFilter) Flush(context.Context, int, proxy.Channel) (string, error) { return "", nil }
