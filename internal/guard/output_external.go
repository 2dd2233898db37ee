package guard

import (
	"context"
	"errors"
	"strings"
)

// maxOutputText bounds the answer text kept for external output guards,
// per channel. A longer answer is not sent: the guard's fail mode decides.
const maxOutputText = 1 << 20

// minOutputWindow is the smallest output_window: smaller windows would
// call a remote guard for every few words.
const minOutputWindow = 256

// outputOverlap is how much already-checked text a window call repeats, so
// that a phrase cut by the window boundary is seen whole once.
const outputOverlap = 256

var errOutputTooLong = errors.New("answer longer than the external guards' limit")

// outputExternal is one choice's state for the external output guards.
type outputExternal struct {
	texts    map[string]*strings.Builder // raw text per channel
	tooLong  bool
	sent     map[string]int // per "guard/channel": bytes already checked
	since    []int          // per external guard: new bytes since its last call
	masked   map[string]string
	finished bool
}

// outputRoles maps a channel to the role external guards see it under.
var outputRoles = map[string]string{"content": "assistant", "reasoning": "reasoning"}

var outputChannels = [...]string{"reasoning", "content"}

func (c *outputChecker) feedExternal(ctx context.Context, out []Verdict, channel, fragment string) []Verdict {
	x := c.ext
	b, ok := x.texts[channel]
	if !ok {
		b = &strings.Builder{}
		x.texts[channel] = b
	}
	if b.Len()+len(fragment) > maxOutputText {
		x.tooLong = true
	} else {
		b.WriteString(fragment)
	}
	if c.opts.Whole {
		return out
	}
	if x.since == nil {
		x.since = make([]int, len(c.g.external))
	}
	for i := range c.g.external {
		e := &c.g.external[i]
		if !e.cfg.Output() || e.cfg.OutputWindow == 0 {
			continue
		}
		if x.since[i] += len(fragment); x.since[i] >= e.cfg.OutputWindow {
			x.since[i] = 0
			out = c.callOutput(ctx, out, e, false)
		}
	}
	return out
}

func (c *outputChecker) finishExternal(ctx context.Context, out []Verdict) []Verdict {
	if c.ext.finished {
		return out
	}
	c.ext.finished = true
	for i := range c.g.external {
		e := &c.g.external[i]
		if !e.cfg.Output() {
			continue
		}
		// A streamed answer checked by windows sends what is left; a
		// whole answer, or a guard without a window, the complete text.
		out = c.callOutput(ctx, out, e, c.opts.Whole || e.cfg.OutputWindow == 0)
	}
	return out
}

// callOutput calls one guard with the answer: the complete channels, or
// the text since its last call plus an overlap.
func (c *outputChecker) callOutput(ctx context.Context, out []Verdict, e *external, complete bool) []Verdict {
	x := c.ext
	var msgs []Message
	if c.opts.LastUser != "" {
		msgs = append(msgs, Message{Role: "user", Text: c.opts.LastUser})
	}
	ctxMsgs := len(msgs)
	var chans []string
	for _, ch := range outputChannels {
		b := x.texts[ch]
		if b == nil || b.Len() == 0 {
			continue
		}
		text := b.String()
		if m, ok := x.masked[ch]; ok {
			text = m
		}
		key := e.cfg.Name + "/" + ch
		start := 0
		if !complete {
			start = max(0, x.sent[key]-outputOverlap)
			for start > 0 && start < len(text) && text[start]&0xC0 == 0x80 {
				start++
			}
		}
		if !complete && x.sent[key] >= len(text) {
			continue
		}
		x.sent[key] = len(text)
		msgs = append(msgs, Message{Role: outputRoles[ch], Text: text[start:]})
		chans = append(chans, ch)
	}
	if len(chans) == 0 {
		return out
	}
	var d decision
	err := errOutputTooLong
	if !x.tooLong {
		d, err = e.call(ctx, dirOutput, msgs)
	}
	if ctx.Err() != nil {
		return out
	}
	canMask := c.opts.Whole && complete
	var vs []Verdict
	vs, mask := c.g.externalVerdicts(ctx, vs, *e, d, err, canMask)
	if mask {
		for i, ch := range chans {
			if j := ctxMsgs + i; j < len(d.masked) {
				x.masked[ch] = d.masked[j].Text
			}
		}
	}
	for _, v := range vs {
		key := v.Guard + "/" + v.Rule
		if c.fired[key] {
			continue
		}
		c.fired[key] = true
		out = append(out, v)
	}
	return out
}

// Masked implements OutputChecker.
func (c *outputChecker) Masked(channel string) (string, bool) {
	if c.ext == nil {
		return "", false
	}
	t, ok := c.ext.masked[channel]
	return t, ok
}
