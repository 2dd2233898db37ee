package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/rampart-gw/rampart/internal/limits"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/tokenizer"
	"github.com/rampart-gw/rampart/internal/waf"
)

// wafStage runs the WAF on the request as it was read, once it is routed:
// the route may turn the WAF off or choose its body scope.
type wafStage struct {
	w *waf.WAF
	// on is waf.enabled, the setting of a route that sets none.
	on bool
}

// maxWAFRuleVerdicts bounds the verdicts one request records for the
// rules that matched, besides the interruption's.
const maxWAFRuleVerdicts = 16

// Check implements proxy.Stage.
func (s wafStage) Check(ctx context.Context, c *proxy.Call) error {
	on, scope := s.on, s.w.Config().InspectBody
	if c.Route != nil {
		on, scope = c.Route.WAF.Resolve(on, scope)
	}
	if !on {
		return nil
	}
	// A model the route names verbatim was checked by routing; a body
	// whose envelope holds nothing else gives the rules nothing to see.
	var known string
	if c.Route != nil && c.Req != nil && c.Route.ServesExactly(c.Req.Model) {
		known = c.Req.Model
	}
	v, err := s.w.InspectRouted(ctx, c.HTTP, c.Body, scope, known)
	// Each matched rule is a flag verdict with its message (never the
	// matched text), the interruption one more with the anomaly score.
	n := 0
	for i, id := range v.RuleIDs {
		if id == v.Rule || n == maxWAFRuleVerdicts {
			continue
		}
		n++
		c.Rec.AddVerdict(record.Verdict{Stage: "waf", Rule: strconv.Itoa(id), Action: "flag", Detail: clipText(v.Messages[i], 200)})
	}
	if v.Status != 0 {
		action := "block"
		if !v.Blocked {
			action = "detect"
		}
		c.Rec.AddVerdict(record.Verdict{
			Stage:  "waf",
			Rule:   strconv.Itoa(v.Rule),
			Action: action,
			Score:  float64(v.Score),
			Detail: fmt.Sprintf("anomaly score %d; rules %v", v.Score, v.RuleIDs),
		})
	}
	if !v.Blocked {
		return nil
	}
	status := v.Status
	if status < 400 {
		status = http.StatusForbidden
	}
	// The client learns that the firewall refused the request and the
	// request ID to quote, never which rule matched.
	e := apierr.New(status, apierr.TypePermission, "request_blocked",
		"The request was blocked by the gateway's web application firewall; quote request ID "+c.Rec.ID+" if you believe this is a mistake.")
	if status == http.StatusRequestEntityTooLarge {
		e.Type, e.Code = apierr.TypeInvalidRequest, "body_too_large"
	}
	e.Cause = err
	return e
}

// clipText cuts s to at most n bytes on a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// guardStage runs the input guards over every message of a request.
type guardStage struct{ g *guard.Guards }

// Check implements proxy.Stage.
func (s guardStage) Check(ctx context.Context, c *proxy.Call) error {
	msgs := make([]guard.Message, 0, len(c.Req.Messages)+len(c.Req.Prompt)+len(c.Req.Input))
	for _, m := range c.Req.Messages {
		msgs = append(msgs, guard.Message{Role: m.Role, Text: m.Content})
		for _, a := range m.ToolCallArgs {
			msgs = append(msgs, guard.Message{Role: m.Role, Text: a})
		}
	}
	for _, p := range c.Req.Prompt {
		msgs = append(msgs, guard.Message{Role: "user", Text: p})
	}
	for _, in := range c.Req.Input {
		msgs = append(msgs, guard.Message{Role: "user", Text: in})
	}
	verdicts, err := s.g.CheckInput(ctx, msgs)
	for _, v := range verdicts {
		c.Rec.AddVerdict(v.Record())
	}
	if err != nil {
		// A guard that failed is not a pass.
		return apierr.Wrap(err, http.StatusServiceUnavailable, apierr.TypeServer, "guard_unavailable",
			"The gateway could not check the request; retry later.")
	}
	if guard.BlockedOnlyUnavailable(verdicts) {
		// Nothing judged the request: an external guard failed closed.
		return unavailable("The gateway could not check the request: a guard it must consult failed; retry later.")
	}
	if guard.Blocked(verdicts) {
		return guard.BlockError(verdicts)
	}
	if c.Req.Endpoint == openai.Chat {
		var canary string
		if c.Route != nil && s.g.CanaryOn(c.Route.Name) {
			// A marker new for this request, added to the system prompt
			// upstream; the output guard blocks an answer that repeats it.
			canary = guard.NewCanary()
			c.Edits.SystemNote = guard.CanaryInstruction(canary)
		}
		c.AddFilter(newGuardFilter(s.g, c, canary))
	}
	return nil
}

// dlpStage finds personal data and secrets in a request and applies the
// request policy before anything leaves: message texts, completions
// prompts and embeddings inputs are rewritten; tool-call arguments, which
// are not rewritten, refuse the request when the policy would change them.
// Values pseudonymized go into a vault of this request only, which the
// response filter uses to restore them in the answer.
type dlpStage struct{ s *dlp.Scanner }

// Check implements proxy.Stage.
func (d dlpStage) Check(_ context.Context, c *proxy.Call) error {
	counts := map[string]int{}
	var v *dlp.Vault
	if d.s.Pseudonymizes() {
		v = dlp.NewVault()
	}
	var set map[int]string
	for i, m := range c.Req.Messages {
		out, findings, blocked := d.s.Apply(m.Content, dlp.Request, v)
		if err := d.note(c, counts, findings, blocked); err != nil {
			return err
		}
		if out != m.Content {
			if set == nil {
				set = map[int]string{}
			}
			set[i] = out
		}
		for _, a := range m.ToolCallArgs {
			if err := d.mustBeClean(c, counts, a); err != nil {
				return err
			}
		}
	}
	if set != nil {
		c.Edits.SetContent = set
	}
	var err error
	if c.Edits.SetPrompt, err = d.texts(c, counts, c.Req.Prompt, v); err != nil {
		return err
	}
	if c.Edits.SetInput, err = d.texts(c, counts, c.Req.Input, v); err != nil {
		return err
	}
	if err := d.tokens(c); err != nil {
		return err
	}
	if c.Req.Endpoint == openai.Chat || c.Req.Endpoint == openai.Completions {
		c.AddFilter(&dlpFilter{s: d.s, rec: c.Rec, vault: v, maskers: map[[2]int]*dlp.StreamMasker{}})
	}
	for _, typ := range sortedKeys(counts) {
		c.Rec.AddVerdict(record.Verdict{Stage: "dlp", Rule: typ, Action: string(d.s.Action(typ, dlp.Request)),
			Detail: strconv.Itoa(counts[typ]) + " found"})
	}
	return nil
}

// texts applies the request policy to the strings of a prompt or an input
// and returns them rewritten, or nil when nothing changed.
func (d dlpStage) texts(c *proxy.Call, counts map[string]int, in []string, v *dlp.Vault) ([]string, error) {
	var out []string
	for i, t := range in {
		o, findings, blocked := d.s.Apply(t, dlp.Request, v)
		if err := d.note(c, counts, findings, blocked); err != nil {
			return nil, err
		}
		if o != t && out == nil {
			out = slices.Clone(in)
		}
		if out != nil {
			out[i] = o
		}
	}
	return out, nil
}

// tokens refuses a prompt or an input sent as token IDs, which cannot be
// scanned, unless dlp.token_input allows it.
func (d dlpStage) tokens(c *proxy.Call) error {
	param := ""
	switch {
	case c.Req.Endpoint == openai.Completions && c.Req.Prompt == nil:
		param = "prompt"
	case c.Req.Endpoint == openai.Embeddings && c.Req.Input == nil:
		param = "input"
	default:
		return nil
	}
	if d.s.TokenInput() == dlp.ActionAllow {
		c.Rec.AddVerdict(record.Verdict{Stage: "dlp", Rule: "TOKEN_INPUT", Action: "allow", Detail: "not scanned"})
		return nil
	}
	c.Rec.AddVerdict(record.Verdict{Stage: "dlp", Rule: "TOKEN_INPUT", Action: "block"})
	return apierr.BadParam(param, "token_input_not_scannable",
		"'"+param+"' was sent as token IDs, which this gateway cannot check for sensitive data; send text instead.")
}

func (d dlpStage) note(c *proxy.Call, counts map[string]int, findings []dlp.Finding, blocked *dlp.Finding) error {
	for _, f := range findings {
		counts[f.Type]++
	}
	if blocked != nil {
		c.Rec.AddVerdict(record.Verdict{Stage: "dlp", Rule: blocked.Type, Action: "block"})
		return apierr.New(http.StatusBadRequest, apierr.TypeInvalidRequest, "sensitive_data_blocked",
			"The request contains "+strings.ToLower(dlp.Label(blocked.Type))+" data, which this gateway does not let leave; remove it and retry.")
	}
	return nil
}

// mustBeClean refuses tool-call arguments that hold a value the policy
// would change: they are JSON the upstream parses, and are not rewritten.
func (d dlpStage) mustBeClean(c *proxy.Call, counts map[string]int, text string) error {
	out, findings, blocked := d.s.Apply(text, dlp.Request, nil)
	if err := d.note(c, counts, findings, blocked); err != nil {
		return err
	}
	if out != text {
		return apierr.New(http.StatusBadRequest, apierr.TypeInvalidRequest, "sensitive_data_blocked",
			"The request holds sensitive data in tool-call arguments, which the gateway does not rewrite; remove it and retry.")
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// limitStage caps the requests each key has in flight, reserves the
// request's share of every matching limit and settles it against the real
// usage when the request ends.
type limitStage struct {
	l        *limits.Limiter     // nil when no rule is configured
	inFlight *limits.KeyInFlight // nil when limits.max_in_flight_per_key is 0
	est      func(model string) tokenizer.Estimator
}

// Check implements proxy.Stage.
func (s limitStage) Check(ctx context.Context, c *proxy.Call) error {
	p := c.Rec.Principal
	if s.inFlight != nil {
		release, refused := s.inFlight.Acquire(p.ID)
		if refused != nil {
			c.Rec.AddVerdict(record.Verdict{Stage: "limit", Rule: "max_in_flight_per_key", Action: "block", Detail: "concurrent"})
			return refused
		}
		c.OnFinish(func(*record.Record) { release() })
	}
	if s.l == nil {
		return nil
	}
	subj := limits.Subject{Key: p.ID, Team: p.Team, Model: c.Req.Model, Route: c.Route.Name, ClientIP: c.Rec.ClientIP}
	if p.Kind != "api_key" {
		subj.User = p.ID
	}
	in := s.inputTokens(c)
	out := int64(c.Req.MaxTokens)
	if clamp := s.l.ClampOutput(subj, out); clamp > 0 && (out == 0 || clamp < out) {
		out = clamp
		if c.Edits.MaxTokens == 0 || int64(c.Edits.MaxTokens) > clamp {
			c.Edits.MaxTokens = int(clamp)
		}
	}
	res, den, err := s.l.Admit(ctx, subj, limits.Estimate{InputTokens: in, MaxOutputTokens: out})
	if err != nil {
		return err
	}
	if den != nil {
		for k, v := range den.Headers {
			c.Header.Set(k, v)
		}
		c.Rec.AddVerdict(record.Verdict{Stage: "limit", Rule: den.Rule, Action: "block", Detail: den.Quantity})
		return den.APIError()
	}
	for k, v := range res.Headers() {
		c.Header.Set(k, v)
	}
	c.OnFinish(func(rec *record.Record) {
		// Settle runs even when the client went away: it has its own
		// bounded context.
		_ = res.Settle(context.Background(), settledUsage(rec, res.Reserved()))
	})
	return nil
}

// settledUsage is what a finished request is charged: the upstream's usage,
// or, when the client went away before the upstream reported it, what was
// reserved for the part that reached the upstream (the prompt once the
// request was sent, the output too once the answer had started, or the
// tokens relayed if more), so that leaving early cannot dodge a budget.
// The upstream's usage always counts the prompt; a usage without prompt
// tokens is the relay's count of a stream cut short.
func settledUsage(rec *record.Record, reserved limits.Usage) limits.Usage {
	if rec.Usage.PromptTokens > 0 || rec.Status != 499 || rec.Upstream == "" {
		return limits.UsageFrom(rec.Usage)
	}
	u := limits.Usage{InputTokens: reserved.InputTokens}
	if rec.TTFT > 0 {
		u.OutputTokens = max(reserved.OutputTokens, int64(rec.Usage.CompletionTokens))
	}
	return u
}

// inputTokens counts the prompt with the tokenizer of the model the route
// sends it to (its first target's), chat template included.
func (s limitStage) inputTokens(c *proxy.Call) int64 {
	model := c.Req.Model
	if len(c.Route.Targets) > 0 {
		model = c.Route.UpstreamModel(model, c.Route.Targets[0])
	}
	est := s.est(model)
	var in int64
	if len(c.Req.Messages) > 0 {
		perMessage, perRequest := tokenizer.ChatOverhead(model)
		in = int64(perRequest + perMessage*len(c.Req.Messages))
	}
	for _, m := range c.Req.Messages {
		in += int64(est.Count(m.Content))
	}
	for _, t := range c.Req.Prompt {
		in += int64(est.Count(t))
	}
	for _, t := range c.Req.Input {
		in += int64(est.Count(t))
	}
	return in
}

var (
	_ proxy.Stage = wafStage{}
	_ proxy.Stage = guardStage{}
	_ proxy.Stage = dlpStage{}
	_ proxy.Stage = limitStage{}
)

// unavailable is the 503 guard_unavailable of a check that could not be
// made, with a short Retry-After.
func unavailable(msg string) *apierr.Error {
	e := apierr.New(http.StatusServiceUnavailable, apierr.TypeServer, "guard_unavailable", msg)
	e.RetryAfter = time.Second
	return e
}
