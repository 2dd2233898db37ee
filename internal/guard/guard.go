// Package guard inspects prompts on the way in and answers on the way out:
// jailbreak and prompt-injection detection (direct and indirect),
// harmful-content filtering in Llama Guard 3's categories, malware and
// system-prompt leak detection on streamed answers and reasoning, banned
// topics from config and external guard services, all behind one API the
// gateway wires into the request and response paths.
package guard

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/rampart-gw/rampart/internal/guard/classifier"
	"github.com/rampart-gw/rampart/internal/guard/normalize"
)

// Guard IDs reported in verdicts.
const (
	GuardInjection   = "injection"
	GuardHarmful     = "harmful"
	GuardObfuscation = "obfuscation"
	GuardMalware     = "malware"
	GuardPromptLeak  = "prompt_leak"
	GuardBanned      = "banned"
)

// Message is one chat message to inspect. Role is system, developer,
// user, assistant, tool, function or document (retrieved content).
type Message struct {
	Role string
	Text string
}

// Verdict is one guard firing.
type Verdict struct {
	// Guard is the guard ID, or external:<name>.
	Guard string `json:"id"`
	// Rule is the rule ID, or "classifier" for a model score.
	Rule string `json:"rule"`
	// Action is block, flag, shadow or mask.
	Action string `json:"action"`
	// Score is the calibrated confidence, 1 for rules.
	Score float64 `json:"score"`
	// Category refines the guard: jailbreak, direct_injection,
	// indirect_injection, a Llama Guard category S1-S14, a malware family.
	Category string `json:"category,omitempty"`
}

// Blocked reports whether any verdict blocks.
func Blocked(vs []Verdict) bool {
	return slices.ContainsFunc(vs, func(v Verdict) bool { return v.Action == ActionBlock })
}

// BlockedOnlyUnavailable reports whether every blocking verdict is an
// external guard that failed closed (it could not be reached, timed out or
// answered badly), so that nothing judged the text: the client is told the
// check is unavailable and may retry, not that its content was refused.
func BlockedOnlyUnavailable(vs []Verdict) bool {
	blocked := false
	for _, v := range vs {
		if v.Action != ActionBlock {
			continue
		}
		if v.Rule != ruleUnavailable || v.Category != "error" {
			return false
		}
		blocked = true
	}
	return blocked
}

// Guards is a compiled, immutable guard policy, safe for concurrent use.
type Guards struct {
	cfg      Config
	log      *slog.Logger
	m        *models
	banned   *ruleSet
	external []external
	// outputExternal is set when some external guard checks answers.
	outputExternal bool
	roles          struct{ injection, harmful map[string]bool }
}

// sharedModels decodes the embedded weights once per process.
var sharedModels = sync.OnceValues(loadModels)

// compileRules builds the built-in rule sets, once per process. They are
// not built at package init, which every command of the binary would pay
// for, but by New, so that the first request inspected does not.
func compileRules() {
	harmfulSet()
	injectionSet()
	documentSet()
	malwareSet()
	personaFrame()
}

// New validates cfg (after defaults) and compiles it.
func New(cfg Config, log *slog.Logger) (*Guards, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("guards config: %w", err)
	}
	m, err := sharedModels()
	if err != nil {
		return nil, err
	}
	compileRules()
	g := &Guards{cfg: cfg, log: log, m: m, banned: compileBanned(cfg.Banned)}
	g.roles.injection = set(cfg.Injection.Roles)
	g.roles.harmful = set(cfg.Harmful.Roles)
	for _, e := range cfg.External {
		g.external = append(g.external, newExternal(e))
		g.outputExternal = g.outputExternal || e.Output()
	}
	return g, nil
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// act turns a configured action into the verdict action: off suppresses
// the verdict, global shadow mode downgrades everything to shadow.
func (g *Guards) act(action string) (string, bool) {
	if action == ActionOff || action == "" {
		return "", false
	}
	if g.cfg.Shadow {
		return ActionShadow, true
	}
	return action, true
}

func (g *Guards) verdict(out []Verdict, action string, v Verdict) []Verdict {
	a, ok := g.act(action)
	if !ok {
		return out
	}
	v.Action = a
	return append(out, v)
}

// Result is the outcome of inspecting a request.
type Result struct {
	Verdicts []Verdict
	// Messages holds the messages as an external guard masked them, or nil
	// when none was masked.
	Messages []Message
}

// CheckInput runs the input guards over the messages of a request.
func (g *Guards) CheckInput(ctx context.Context, msgs []Message) ([]Verdict, error) {
	r, err := g.Inspect(ctx, msgs)
	return r.Verdicts, err
}

// CheckText runs the input guards over one text as a message of role
// (user when empty): the entry point of `rampart scan`.
func (g *Guards) CheckText(ctx context.Context, role, text string) []Verdict {
	if role == "" {
		role = "user"
	}
	vs, err := g.CheckInput(ctx, []Message{{Role: role, Text: text}})
	if err != nil {
		g.log.WarnContext(ctx, "guard check failed", "err", err)
	}
	return vs
}

// Inspect runs the built-in guards, then the external ones, and returns
// the verdicts and any masked messages. It returns an error only when ctx
// ends; a failing external guard yields a verdict by its fail mode.
func (g *Guards) Inspect(ctx context.Context, msgs []Message) (Result, error) {
	var r Result
	for _, m := range msgs {
		r.Verdicts = g.checkMessage(r.Verdicts, m)
	}
	if len(g.external) == 0 {
		return r, nil
	}
	return g.inspectExternal(ctx, msgs, r)
}

// checkMessage runs the built-in input guards over one message.
func (g *Guards) checkMessage(out []Verdict, m Message) []Verdict {
	n := normalize.Normalize(m.Text)
	if n.Hidden > 0 {
		out = g.verdict(out, g.cfg.Obfuscation.Action, Verdict{Guard: GuardObfuscation, Rule: "OB-001", Score: 1, Category: "hidden_characters"})
	}
	if g.roles.injection[m.Role] {
		out = g.checkInjection(out, m.Role, &n)
	}
	if g.roles.harmful[m.Role] {
		out = g.checkHarmful(out, &n)
	}
	return g.checkBanned(out, &n)
}

// isDocument reports whether a role carries content the user did not
// write, where instructions are injected rather than typed.
func isDocument(role string) bool {
	return role == "tool" || role == "function" || role == "document"
}

// texts calls fn with the canonical text and every decoded view until fn
// returns true.
func texts(n *normalize.Result, fn func(string) bool) {
	if fn(n.Text) {
		return
	}
	for _, v := range n.Views {
		if fn(v.Text) {
			return
		}
	}
}

func (g *Guards) checkInjection(out []Verdict, role string, n *normalize.Result) []Verdict {
	doc := isDocument(role)
	var hit *rule
	fired := 0.0 // the highest score at or above its text's threshold
	texts(n, func(t string) bool {
		if hit = injectionSet().first(t); hit == nil && doc {
			hit = documentSet().first(t)
		}
		if hit != nil {
			return true
		}
		if s, th := g.attackScore(t, doc); s >= th {
			fired = max(fired, s)
		}
		return false
	})
	act := g.cfg.Injection.Action
	if hit != nil {
		cat := hit.Category
		if doc && cat == "direct_injection" {
			cat = "indirect_injection"
		}
		return g.verdict(out, act, Verdict{Guard: GuardInjection, Rule: hit.ID, Score: 1, Category: cat})
	}
	if fired > 0 {
		cat := "prompt_attack"
		if doc {
			cat = "indirect_injection"
		}
		return g.verdict(out, act, Verdict{Guard: GuardInjection, Rule: "classifier", Score: round(fired), Category: cat})
	}
	return out
}

// attackScore is the classifier score of a text and the threshold it must
// reach. Documents are scored per sentence against the document threshold.
// Conversation text is scored whole, without a leading role-play frame,
// against the injection threshold raised for short texts.
func (g *Guards) attackScore(t string, doc bool) (score, threshold float64) {
	if !doc {
		t = withoutPersona(t)
		return g.m.attack.Score(t), evidenceThreshold(g.cfg.Injection.Threshold, countWords(t, MinEvidenceWords))
	}
	best := 0.0
	classifier.Segments(t, func(s string) { best = max(best, g.m.indirect.Score(s)) })
	return best, g.cfg.Injection.DocumentThreshold
}

func (g *Guards) checkHarmful(out []Verdict, n *normalize.Result) []Verdict {
	var hit *rule
	fired, text := 0.0, n.Text
	texts(n, func(t string) bool {
		if hit = harmfulSet().first(t); hit != nil {
			text = t
			return true
		}
		u := withoutPersona(t)
		if !enoughWords(u) {
			return false
		}
		if s := g.m.harmful.Score(u); s > fired && s >= evidenceThreshold(g.cfg.Harmful.Threshold, countWords(u, MinEvidenceWords)) {
			fired, text = s, t
		}
		return false
	})
	switch {
	case hit != nil:
		return g.verdict(out, g.harmfulAction(hit.Category, g.cfg.Harmful.Action), Verdict{Guard: GuardHarmful, Rule: hit.ID, Score: 1, Category: hit.Category})
	case fired > 0:
		cat := hintCategory(text)
		return g.verdict(out, g.harmfulAction(cat, g.cfg.Harmful.Action), Verdict{Guard: GuardHarmful, Rule: "classifier", Score: round(fired), Category: cat})
	}
	return out
}

// harmfulAction applies a per-category override to the base action.
func (g *Guards) harmfulAction(cat, base string) string {
	if a, ok := g.cfg.Harmful.Categories[cat]; ok {
		return a
	}
	return base
}

func round(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }

// minClassifierWords is the shortest text the harmful classifier scores: on
// a word or two a linear model over n-grams reports its own bias, not the
// text ("ok" scored 0.93). Rules still apply to short texts.
const minClassifierWords = 3

// enoughWords reports whether t has at least minClassifierWords words.
func enoughWords(t string) bool {
	n, in := 0, false
	for _, r := range t {
		space := r == ' ' || r == '\n' || r == '\t' || r == '\r'
		if !space && !in {
			if n++; n >= minClassifierWords {
				return true
			}
		}
		in = !space
	}
	return false
}
