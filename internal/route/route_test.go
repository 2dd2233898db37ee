package route

import (
	"math/rand/v2"
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

func orderedRoute(targets ...Target) *Route {
	r := &Route{Targets: targets}
	for _, t := range targets {
		if t.Priority != 0 || t.Weight != 0 {
			r.ordered = true
		}
	}
	return r
}

func named(name string, prio, weight int) Target {
	c, _ := upstream.New(name, &config.Upstream{URL: "http://127.0.0.1:1/v1"}, nil)
	return Target{Client: c, Priority: prio, Weight: weight}
}

// TestWeightedSplit: over 10,000 requests each target comes first within
// ±3% of its share.
func TestWeightedSplit(t *testing.T) {
	t.Parallel()
	r := orderedRoute(named("canary", 0, 10), named("stable", 0, 90))
	rng := rand.New(rand.NewPCG(7, 9))
	first := map[string]int{}
	for i := 0; i < 10000; i++ {
		o := r.Order(rng.Float64)
		if len(o) != 2 || o[0].Client == o[1].Client {
			t.Fatalf("order %v lost or repeated a target", o)
		}
		first[o[0].Client.Name]++
	}
	for name, want := range map[string]float64{"canary": 0.10, "stable": 0.90} {
		if got := float64(first[name]) / 10000; got < want-0.03 || got > want+0.03 {
			t.Errorf("%s first in %.3f of requests, want %.2f±0.03", name, got, want)
		}
	}
}

func TestPriorityGroups(t *testing.T) {
	t.Parallel()
	r := orderedRoute(named("backup", 1, 0), named("a", 0, 1), named("b", 0, 1))
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 100; i++ {
		o := r.Order(rng.Float64)
		if o[2].Client.Name != "backup" {
			t.Fatalf("the lower priority group was not tried first: %s %s %s", o[0].Client.Name, o[1].Client.Name, o[2].Client.Name)
		}
	}
	plain := orderedRoute(named("x", 0, 0), named("y", 0, 0))
	if o := plain.Order(rng.Float64); &o[0] != &plain.Targets[0] {
		t.Error("a route without weights was copied")
	}
}
