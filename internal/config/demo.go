package config

import (
	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/guard"
	"github.com/rampart-gw/rampart/internal/limits"
	"github.com/rampart-gw/rampart/internal/waf"
)

// Demo returns the configuration `rampart demo` runs: the client listener on
// 127.0.0.1:8080, the admin listener on 127.0.0.1:9090, the store in
// dataDir, one private upstream "r1-sim" (the built-in simulator at simURL,
// DeepSeek flavor) and one route "default" serving deepseek-reasoner and
// deepseek-chat with reasoning passed through. API keys from the store are
// on, and so are the WAF in its default scope, the input guards (harmful
// requests flagged rather than blocked: that classifier still refuses too
// many ordinary prompts) with a canary in every system prompt, request DLP,
// and per-key limits of 600 requests and 200,000 tokens a minute with 20
// requests at once. The log is text, for a terminal. Defaults are set; the
// result passes Validate when simURL is valid.
func Demo(dataDir, simURL string) *Config {
	on := true
	c := &Config{
		Listen:  Listener{Addr: DefaultListenAddr},
		Admin:   Admin{Addr: DefaultAdminAddr},
		DataDir: dataDir,
		Auth:    Auth{APIKeys: &on},
		// The demo runs in a terminal: its log, the access log too, is
		// text, and the configuration the admin API shows says so.
		Log: Log{Level: "info", Format: "text"},
		Upstreams: map[string]*Upstream{
			"r1-sim": {URL: simURL, Flavor: "deepseek", Public: false},
		},
		// Every stage that has landed runs with its recommended defaults.
		WAF:    waf.Config{Enabled: true},
		Guards: guard.Config{Enabled: true, Harmful: guard.HarmfulConfig{Action: "flag"}, PromptLeak: guard.LeakConfig{Canary: true}},
		DLP:    dlp.Config{Enabled: true},
		Limits: Limits{Rules: []limits.Rule{{
			Name: "per-key", By: []limits.Dimension{limits.DimKey}, Window: limits.Minute,
			Requests: 600, TotalTokens: 200000,
		}, {
			Name: "per-key-concurrency", By: []limits.Dimension{limits.DimKey}, Concurrent: 20,
		}}},
		Routes: []*Route{{
			Name:      "default",
			Models:    []string{"deepseek-reasoner", "deepseek-chat"},
			Upstreams: []Target{{Upstream: "r1-sim"}},
			Reasoning: "pass",
		}},
	}
	c.SetDefaults()
	return c
}
