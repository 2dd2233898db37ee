package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
)

// guardFilter runs the output guards (malware, system-prompt leaks, harmful
// answers, external guards) over the answer and the reasoning as they
// stream. It does not hold a stream back: a block ends the answer with an
// error event at once. A whole (non-streaming) answer checked by external
// output guards is held until it is complete, so that they can mask it.
type guardFilter struct {
	g        *guard.Guards
	opts     guard.OutputOptions
	rec      *record.Record
	checkers map[int]guard.OutputChecker
	held     map[[2]int]*strings.Builder // whole answers: text per choice and channel
}

func newGuardFilter(g *guard.Guards, c *proxy.Call, canary string) *guardFilter {
	var sys []string
	var lastUser string
	for _, m := range c.Req.Messages {
		switch m.Role {
		case "system", "developer":
			sys = append(sys, m.Content)
		case "user":
			lastUser = m.Content
		}
	}
	f := &guardFilter{g: g, rec: c.Rec, checkers: map[int]guard.OutputChecker{}}
	f.opts = guard.OutputOptions{SystemPrompt: strings.Join(sys, "\n"), Canary: canary, LastUser: lastUser,
		Whole: !c.Req.Stream && g.ExternalOutput()}
	if f.opts.Whole {
		f.held = map[[2]int]*strings.Builder{}
	}
	return f
}

func (f *guardFilter) checker(choice int) guard.OutputChecker {
	oc, ok := f.checkers[choice]
	if !ok {
		oc = f.g.NewOutputChecker(f.opts)
		f.checkers[choice] = oc
	}
	return oc
}

func (f *guardFilter) verdicts(vs []guard.Verdict, err error) error {
	for _, v := range vs {
		f.rec.AddVerdict(v.Record())
	}
	if err != nil {
		return apierr.Wrap(err, http.StatusServiceUnavailable, apierr.TypeServer, "guard_unavailable",
			"The gateway could not check the answer.")
	}
	if guard.BlockedOnlyUnavailable(vs) {
		return unavailable("The gateway could not check the answer: a guard it must consult failed; retry later.")
	}
	if guard.Blocked(vs) {
		return apierr.New(http.StatusBadGateway, apierr.TypeServer, "content_blocked",
			"The answer was stopped by the gateway's output policy.")
	}
	return nil
}

func channelName(ch proxy.Channel) string {
	if ch == proxy.Reasoning {
		return "reasoning"
	}
	return "content"
}

// Write implements proxy.Filter.
func (f *guardFilter) Write(ctx context.Context, choice int, ch proxy.Channel, text string) (string, error) {
	if text == "" {
		return "", nil
	}
	if err := f.verdicts(f.checker(choice).Feed(ctx, channelName(ch), text)); err != nil {
		return "", err
	}
	if f.held == nil {
		return text, nil
	}
	k := [2]int{choice, int(ch)}
	if f.held[k] == nil {
		f.held[k] = &strings.Builder{}
	}
	f.held[k].WriteString(text)
	return "", nil
}

// Flush implements proxy.Filter. The answer channel is flushed first: its
// flush finishes the checks of the choice.
func (f *guardFilter) Flush(ctx context.Context, choice int, ch proxy.Channel) (string, error) {
	if ch == proxy.Answer {
		if err := f.verdicts(f.checker(choice).Finish(ctx)); err != nil {
			return "", err
		}
	}
	if f.held == nil {
		return "", nil
	}
	if t, ok := f.checker(choice).Masked(channelName(ch)); ok {
		return t, nil
	}
	if b := f.held[[2]int{choice, int(ch)}]; b != nil {
		return b.String(), nil
	}
	return "", nil
}

// dlpFilter applies the response DLP policy to each channel of each choice
// (answer, reasoning, each tool call's arguments), holding back a bounded
// window so that a value split across events is still found, and restores
// the request's pseudonyms from its vault, also when a placeholder is
// split across events.
type dlpFilter struct {
	s       *dlp.Scanner
	rec     *record.Record
	vault   *dlp.Vault // nil when the request pseudonymized nothing
	maskers map[[2]int]*dlp.StreamMasker
}

func (f *dlpFilter) masker(choice int, ch proxy.Channel) *dlp.StreamMasker {
	k := [2]int{choice, int(ch)}
	m, ok := f.maskers[k]
	if !ok {
		m = f.s.NewStreamMasker(dlp.Response, f.vault)
		f.maskers[k] = m
	}
	return m
}

func (f *dlpFilter) check(m *dlp.StreamMasker) error {
	if b := m.Blocked(); b != nil {
		f.rec.AddVerdict(record.Verdict{Stage: "dlp", Rule: b.Type, Action: "block", Detail: "response"})
		return apierr.New(http.StatusBadGateway, apierr.TypeServer, "sensitive_data_blocked",
			"The answer contained "+strings.ToLower(dlp.Label(b.Type))+" data, which this gateway does not let through.")
	}
	return nil
}

// Write implements proxy.Filter.
func (f *dlpFilter) Write(_ context.Context, choice int, ch proxy.Channel, text string) (string, error) {
	if text == "" {
		return "", nil
	}
	m := f.masker(choice, ch)
	out := m.Write(text)
	return out, f.check(m)
}

// Flush implements proxy.Filter.
func (f *dlpFilter) Flush(_ context.Context, choice int, ch proxy.Channel) (string, error) {
	k := [2]int{choice, int(ch)}
	m, ok := f.maskers[k]
	if !ok {
		return "", nil
	}
	out := m.Flush()
	if err := f.check(m); err != nil {
		return "", err
	}
	counts := map[string]int{}
	for _, fd := range m.Findings() {
		counts[fd.Type]++
	}
	for _, typ := range sortedKeys(counts) {
		f.rec.AddVerdict(record.Verdict{Stage: "dlp", Rule: typ, Action: string(f.s.Action(typ, dlp.Response)), Detail: "response"})
	}
	return out, nil
}

var (
	_ proxy.Filter = (*guardFilter)(nil)
	_ proxy.Filter = (*dlpFilter)(nil)
)
