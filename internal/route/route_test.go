package route

import (
	"testing"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/reasoning"
	"github.com/rampart-gw/rampart/internal/upstream"
)

func table(t testing.TB) *Table {
	t.Helper()
	cfg := &config.Config{
		Upstreams: map[string]*config.Upstream{
			"deepseek": {URL: "https://api.deepseek.com/v1", Flavor: "deepseek"},
			"ollama":   {URL: "http://127.0.0.1:11434/v1", Flavor: "ollama"},
		},
		Routes: []*config.Route{
			{Name: "r1", Models: []string{"deepseek-reasoner", "deepseek-r1*"}, Aliases: map[string]string{"r1": "deepseek-reasoner"},
				Upstreams: []config.Target{{Upstream: "deepseek"}, {Upstream: "ollama", Model: "deepseek-r1:7b"}}, Reasoning: "separate"},
			{Name: "chat", Models: []string{"deepseek-chat", "deepseek-*"}, Upstreams: []config.Target{{Upstream: "deepseek"}}},
		},
	}
	cfg.SetDefaults()
	clients := map[string]*upstream.Client{}
	for name, u := range cfg.Upstreams {
		c, err := upstream.New(name, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		clients[name] = c
	}
	tb, err := Build(cfg, clients)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tb := table(t)
	tests := []struct {
		desc, model, route string
	}{
		{"exact name", "deepseek-reasoner", "r1"},
		{"glob on the first route wins over the second", "deepseek-r1-distill", "r1"},
		{"alias", "r1", "r1"},
		{"exact on the second route", "deepseek-chat", "chat"},
		{"glob on the second route", "deepseek-coder", "chat"},
		{"no route", "gpt-4o", ""},
		{"case matters", "DeepSeek-Chat", ""},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			r, ok := tb.Match(tt.model)
			got := ""
			if ok {
				got = r.Name
			}
			if got != tt.route {
				t.Fatalf("Match(%q) = %q, want %q", tt.model, got, tt.route)
			}
		})
	}
}

func TestRouteDetails(t *testing.T) {
	t.Parallel()
	tb := table(t)
	r, _ := tb.Match("r1")
	if r.Policy != reasoning.Separate {
		t.Errorf("policy %v", r.Policy)
	}
	if r.MaxAttempts != 2 {
		t.Errorf("max attempts %d, want one per upstream", r.MaxAttempts)
	}
	if got := r.UpstreamModel("r1", r.Targets[0]); got != "deepseek-reasoner" {
		t.Errorf("alias resolved to %q", got)
	}
	if got := r.UpstreamModel("r1", r.Targets[1]); got != "deepseek-r1:7b" {
		t.Errorf("target override gave %q", got)
	}
	if got := r.UpstreamModel("deepseek-r1-distill", r.Targets[0]); got != "deepseek-r1-distill" {
		t.Errorf("plain name gave %q", got)
	}
	want := []string{"deepseek-chat", "deepseek-reasoner", "r1"}
	if got := tb.Models(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("Models() = %v, want %v (globs are not listed)", got, want)
	}
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		patterns []string
		model    string
		want     bool
	}{
		{"no list allows all", nil, "anything", true},
		{"exact", []string{"deepseek-chat"}, "deepseek-chat", true},
		{"glob", []string{"deepseek-*"}, "deepseek-reasoner", true},
		{"not listed", []string{"deepseek-chat"}, "deepseek-reasoner", false},
		{"bad pattern never matches", []string{"[unclosed"}, "x", false},
	}
	for _, tt := range tests {
		if got := Allowed(tt.patterns, tt.model); got != tt.want {
			t.Errorf("%s: Allowed(%v, %q) = %v", tt.desc, tt.patterns, tt.model, got)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	tb := table(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tb.Match("deepseek-coder"); !ok {
			b.Fatal("no match")
		}
	}
}
