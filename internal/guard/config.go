package guard

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Actions a guard takes when it fires.
const (
	// ActionBlock refuses the request, or ends the stream, with a
	// content_blocked error.
	ActionBlock = "block"
	// ActionFlag lets the request through and records the verdict.
	ActionFlag = "flag"
	// ActionShadow records the verdict as would-have-fired, for tuning.
	ActionShadow = "shadow"
	// ActionOff disables the guard.
	ActionOff = "off"
	// ActionMask is reported by external guards that rewrote a message.
	ActionMask = "mask"
)

// Config is the `guards:` section. The zero value turns every built-in
// guard on with its default action and threshold.
type Config struct {
	// Enabled turns the guard stage on in the gateway. Default false. The
	// guards themselves (and `rampart scan`) ignore it.
	Enabled bool `yaml:"enabled"`
	// Shadow records every verdict as shadow and blocks nothing: a way to
	// measure a policy on live traffic before enforcing it. Default false.
	Shadow bool `yaml:"shadow"`
	// Injection detects jailbreaks and prompt injection, direct in
	// system and user messages and indirect in tool results and
	// retrieved documents.
	Injection InjectionConfig `yaml:"injection"`
	// Harmful detects requests and answers in Llama Guard 3's hazard
	// categories S1-S14.
	Harmful HarmfulConfig `yaml:"harmful"`
	// Obfuscation fires on invisible characters and Unicode tag
	// smuggling, which legitimate prompts rarely contain. Default flag.
	Obfuscation GuardConfig `yaml:"obfuscation"`
	// Malware watches answers and reasoning for malware and exploit code:
	// reverse shells, droppers, credential stealers, ransomware and
	// obfuscated PowerShell or JavaScript. Default block.
	Malware GuardConfig `yaml:"malware"`
	// PromptLeak watches answers and reasoning for the system prompt: the
	// per-request canary, or a long verbatim run of its words.
	PromptLeak LeakConfig `yaml:"prompt_leak"`
	// Banned lists topics, substrings and patterns refused on this route.
	Banned BannedConfig `yaml:"banned"`
	// External guards called over HTTP after the built-in ones.
	External []ExternalConfig `yaml:"external"`
}

// GuardConfig is the action of a guard without tunables.
type GuardConfig struct {
	// Action is block, flag, shadow or off; empty means the guard's default.
	Action string `yaml:"action"`
}

// InjectionConfig tunes the jailbreak and prompt-injection detector.
type InjectionConfig struct {
	// Action is block, flag, shadow or off. Default block: the client gets
	// a 400 content_blocked error that does not say why.
	Action string `yaml:"action"`
	// Threshold is the calibrated classifier score (0-1) at or above which
	// a system, user or assistant message fires. Default 0.3; lower
	// catches more attacks and blocks more benign prompts.
	Threshold float64 `yaml:"threshold"`
	// DocumentThreshold is the score at or above which a sentence of a
	// tool result or retrieved document fires as indirect injection.
	// Default 0.9: documents are full of questions and imperatives.
	DocumentThreshold float64 `yaml:"document_threshold"`
	// Roles are the message roles checked. Default all: system, developer,
	// user, assistant, tool, function, document.
	Roles []string `yaml:"roles"`
}

// HarmfulConfig tunes the harmful-content filter.
type HarmfulConfig struct {
	// Action is block, flag, shadow or off for requests. Default block.
	Action string `yaml:"action"`
	// OutputAction applies to answers and reasoning. Default flag, because
	// the classifier learnt from requests, not answers; rules still match.
	OutputAction string `yaml:"output_action"`
	// Threshold is the calibrated classifier score at or above which a
	// request fires. Default 0.65: the benign prompts it was measured on
	// include many that sound harmful and are not, and everyday chat
	// must pass.
	Threshold float64 `yaml:"threshold"`
	// OutputThreshold is the score for answers. Default 0.9.
	OutputThreshold float64 `yaml:"output_threshold"`
	// Categories overrides the action per Llama Guard category, e.g.
	// {S6: off, S8: flag}. Unlisted categories use Action.
	Categories map[string]string `yaml:"categories"`
	// Roles are the message roles checked. Default user: system prompts
	// legitimately name the topics they forbid.
	Roles []string `yaml:"roles"`
}

// LeakConfig tunes system-prompt leak detection.
type LeakConfig struct {
	// Action is block, flag, shadow or off. Default block.
	Action string `yaml:"action"`
	// MinRun is how many consecutive system-prompt words an answer must
	// repeat to count as a leak, capped at half the prompt for short
	// prompts. Default 24.
	MinRun int `yaml:"min_run"`
	// Canary adds a random marker, new for every request, to the system
	// prompt sent upstream (a system message is prepended when the request
	// has none) and blocks an answer or reasoning that repeats it. Default
	// false: the marker changes the prompt's prefix, so it defeats the
	// upstream's prompt cache for the messages after it.
	Canary bool `yaml:"canary"`
	// CanaryRoutes turns the canary on or off per route name, overriding
	// Canary: {internal-tools: false}.
	CanaryRoutes map[string]bool `yaml:"canary_routes"`
}

// CanaryOn reports whether requests on route get a canary.
func (c LeakConfig) CanaryOn(route string) bool {
	if on, ok := c.CanaryRoutes[route]; ok {
		return on
	}
	return c.Canary
}

// BannedConfig lists route-specific refusals, matched on normalised,
// lowercased text of requests and answers.
type BannedConfig struct {
	// Action is block, flag, shadow or off. Default block.
	Action string `yaml:"action"`
	// Topics are named keyword lists; any keyword matches the topic.
	Topics []Topic `yaml:"topics"`
	// Substrings are matched case-insensitively.
	Substrings []string `yaml:"substrings"`
	// Regex are RE2 patterns matched against lowercased text.
	Regex []string `yaml:"regex"`
}

// Topic is a banned subject and the words that reveal it.
type Topic struct {
	Name     string   `yaml:"name"`
	Keywords []string `yaml:"keywords"`
}

// ExternalConfig is one external guard service.
type ExternalConfig struct {
	// Name identifies the guard in verdicts: external:<name>.
	Name string `yaml:"name"`
	// Type is webhook, openai_moderation or llama_guard.
	Type string `yaml:"type"`
	// URL is the endpoint: the webhook URL, the moderation URL
	// (…/v1/moderations) or the OpenAI-compatible base URL (…/v1) for
	// Llama Guard.
	URL string `yaml:"url"`
	// Model is sent to moderation and Llama Guard servers.
	Model string `yaml:"model"`
	// APIKey is sent as a bearer token when set. Never logged.
	APIKey string `yaml:"api_key"`
	// Timeout bounds one call. Default 2s.
	Timeout time.Duration `yaml:"timeout"`
	// FailMode is closed (an unreachable, slow or broken guard refuses the
	// request with 503 guard_unavailable, and stops an answer) or open (it
	// is recorded and the request passes). Default closed.
	FailMode string `yaml:"fail_mode"`
	// Action is what a reject from this guard does: block, flag or shadow.
	// Default block.
	Action string `yaml:"action"`
	// Shadow calls the guard and records its verdicts without acting.
	Shadow bool `yaml:"shadow"`
	// Roles are the message roles sent. Default user.
	Roles []string `yaml:"roles"`
	// ApplyTo says what the guard checks: input (the request's messages of
	// Roles), output (the answer and the reasoning) or both. Default
	// [input].
	ApplyTo []string `yaml:"apply_to"`
	// OutputWindow, for output, is how many new bytes of a streamed
	// answer trigger a call with the text since the last one (plus a
	// 256-byte overlap), so that a stream is stopped early; 0 calls once,
	// when the answer is complete. A whole (non-streaming) answer is
	// checked once, complete, and may be masked. Default 0; at least 256.
	OutputWindow int `yaml:"output_window"`
}

// Input reports whether the guard checks requests.
func (e ExternalConfig) Input() bool { return slices.Contains(e.ApplyTo, "input") }

// Output reports whether the guard checks answers.
func (e ExternalConfig) Output() bool { return slices.Contains(e.ApplyTo, "output") }

// SetDefaults fills empty fields with their defaults.
func (c *Config) SetDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	deff := func(f *float64, v float64) {
		if *f == 0 {
			*f = v
		}
	}
	def(&c.Injection.Action, ActionBlock)
	deff(&c.Injection.Threshold, DefaultInjectionThreshold)
	deff(&c.Injection.DocumentThreshold, DefaultDocumentThreshold)
	if len(c.Injection.Roles) == 0 {
		c.Injection.Roles = []string{"system", "developer", "user", "assistant", "tool", "function", "document"}
	}
	def(&c.Harmful.Action, ActionBlock)
	def(&c.Harmful.OutputAction, ActionFlag)
	deff(&c.Harmful.Threshold, DefaultHarmfulThreshold)
	deff(&c.Harmful.OutputThreshold, 0.9)
	if len(c.Harmful.Roles) == 0 {
		c.Harmful.Roles = []string{"user"}
	}
	def(&c.Obfuscation.Action, ActionFlag)
	def(&c.Malware.Action, ActionBlock)
	def(&c.PromptLeak.Action, ActionBlock)
	if c.PromptLeak.MinRun == 0 {
		c.PromptLeak.MinRun = 24
	}
	def(&c.Banned.Action, ActionBlock)
	for i := range c.External {
		e := &c.External[i]
		def(&e.FailMode, "closed")
		def(&e.Action, ActionBlock)
		if e.Timeout == 0 {
			e.Timeout = 2 * time.Second
		}
		if len(e.Roles) == 0 {
			e.Roles = []string{"user"}
		}
		if len(e.ApplyTo) == 0 {
			e.ApplyTo = []string{"input"}
		}
	}
}

// Validate reports every problem in a defaulted config, each with its path.
func (c *Config) Validate() error {
	var errs []error
	action := func(path, a string, allowed ...string) {
		for _, x := range append(allowed, ActionBlock, ActionFlag, ActionShadow, ActionOff) {
			if a == x {
				return
			}
		}
		errs = append(errs, fmt.Errorf("%s: unknown action %q", path, a))
	}
	score := func(path string, f float64) {
		if f <= 0 || f > 1 {
			errs = append(errs, fmt.Errorf("%s: %v is not in (0, 1]", path, f))
		}
	}
	action("injection.action", c.Injection.Action)
	score("injection.threshold", c.Injection.Threshold)
	score("injection.document_threshold", c.Injection.DocumentThreshold)
	action("harmful.action", c.Harmful.Action)
	action("harmful.output_action", c.Harmful.OutputAction)
	score("harmful.threshold", c.Harmful.Threshold)
	score("harmful.output_threshold", c.Harmful.OutputThreshold)
	for k, v := range c.Harmful.Categories {
		if _, ok := categoryNames[k]; !ok {
			errs = append(errs, fmt.Errorf("harmful.categories: unknown category %q (want S1-S14)", k))
		}
		action("harmful.categories."+k, v)
	}
	action("obfuscation.action", c.Obfuscation.Action)
	action("malware.action", c.Malware.Action)
	action("prompt_leak.action", c.PromptLeak.Action)
	action("banned.action", c.Banned.Action)
	for i, r := range c.Banned.Regex {
		if _, err := regexp.Compile(r); err != nil {
			errs = append(errs, fmt.Errorf("banned.regex[%d]: %w", i, err))
		}
	}
	for i, e := range c.External {
		p := fmt.Sprintf("external[%d]", i)
		if e.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", p))
		}
		if _, ok := externalTypes[e.Type]; !ok {
			errs = append(errs, fmt.Errorf("%s.type: unknown type %q (want webhook, openai_moderation or llama_guard)", p, e.Type))
		}
		if e.URL == "" {
			errs = append(errs, fmt.Errorf("%s.url: required", p))
		}
		if e.FailMode != "closed" && e.FailMode != "open" {
			errs = append(errs, fmt.Errorf("%s.fail_mode: %q is not closed or open", p, e.FailMode))
		}
		action(p+".action", e.Action)
		for j, a := range e.ApplyTo {
			if a != "input" && a != "output" {
				errs = append(errs, fmt.Errorf("%s.apply_to[%d]: %q is not input or output", p, j, a))
			}
		}
		if e.OutputWindow != 0 && (e.OutputWindow < minOutputWindow || e.OutputWindow > maxOutputText) {
			errs = append(errs, fmt.Errorf("%s.output_window: %d is not 0 or in [%d, %d]", p, e.OutputWindow, minOutputWindow, maxOutputText))
		}
	}
	return errors.Join(errs...)
}
