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
// answers) over the answer and the reasoning as they stream. It does not
// hold text back: a block ends the answer with an error event at once.
type guardFilter struct {
	g        *guard.Guards
	system   string
	rec      *record.Record
	checkers map[int]guard.OutputChecker
}

func newGuardFilter(g *guard.Guards, c *proxy.Call) *guardFilter {
	var sys []string
	for _, m := range c.Req.Messages {
		if m.Role == "system" || m.Role == "developer" {
			sys = append(sys, m.Content)
		}
	}
	return &guardFilter{g: g, system: strings.Join(sys, "\n"), rec: c.Rec, checkers: map[int]guard.OutputChecker{}}
}

func (f *guardFilter) checker(choice int) guard.OutputChecker {
	oc, ok := f.checkers[choice]
	if !ok {
		oc, _ = f.g.NewOutputChecker(f.system)
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
	if guard.Blocked(vs) {
		return apierr.New(http.StatusBadGateway, apierr.TypeServer, "content_blocked",
			"The answer was stopped by the gateway's output policy.")
	}
	return nil
}

// Write implements proxy.Filter.
func (f *guardFilter) Write(ctx context.Context, choice int, ch proxy.Channel, text string) (string, error) {
	if text == "" {
		return "", nil
	}
	channel := "content"
	if ch == proxy.Reasoning {
		channel = "reasoning"
	}
	return text, f.verdicts(f.checker(choice).Feed(ctx, channel, text))
}

// Flush implements proxy.Filter.
func (f *guardFilter) Flush(ctx context.Context, choice int, ch proxy.Channel) (string, error) {
	if ch != proxy.Answer {
		return "", nil
	}
	return "", f.verdicts(f.checker(choice).Finish(ctx))
}

// dlpFilter applies the response DLP policy to each channel of each choice,
// holding back a bounded window so that a value split across events is
// still found.
type dlpFilter struct {
	s       *dlp.Scanner
	rec     *record.Record
	maskers map[[2]int]*dlp.StreamMasker
}

func (f *dlpFilter) masker(choice int, ch proxy.Channel) *dlp.StreamMasker {
	k := [2]int{choice, int(ch)}
	m, ok := f.maskers[k]
	if !ok {
		m = f.s.NewStreamMasker(dlp.Response, nil)
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
