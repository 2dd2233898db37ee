package guard

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// scenario is one declarative case from testdata/scenarios.
type scenario struct {
	Name   string   `yaml:"name"`
	Role   string   `yaml:"role"`
	Input  string   `yaml:"input"`
	Output string   `yaml:"output"` // channel; empty for an input scenario
	Config Config   `yaml:"config"`
	Fire   []string `yaml:"fire"`
	Not    []string `yaml:"not"`
}

// matches reports whether a verdict is named by want: a guard ID or
// guard/rule.
func matches(v Verdict, want string) bool {
	g, r, ok := strings.Cut(want, "/")
	return v.Guard == g && (!ok || v.Rule == r)
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases []scenario
		if err := yaml.Unmarshal(data, &cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range cases {
			t.Run(filepath.Base(f)+"/"+c.Name, func(t *testing.T) {
				t.Parallel()
				runScenario(t, c)
			})
		}
	}
}

func runScenario(t *testing.T, c scenario) {
	g, err := New(c.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	var vs []Verdict
	if c.Output == "" {
		role := c.Role
		if role == "" {
			role = "user"
		}
		if vs, err = g.CheckInput(context.Background(), []Message{{Role: role, Text: c.Input}}); err != nil {
			t.Fatal(err)
		}
	} else {
		vs = streamAll(t, g, c.Output, c.Input, 7)
	}
	for _, w := range c.Fire {
		if !slices.ContainsFunc(vs, func(v Verdict) bool { return matches(v, w) }) {
			t.Errorf("%s did not fire; verdicts %+v", w, vs)
		}
	}
	for _, w := range c.Not {
		if slices.ContainsFunc(vs, func(v Verdict) bool { return matches(v, w) }) {
			t.Errorf("%s fired; verdicts %+v", w, vs)
		}
	}
}

// streamAll feeds text to a fresh output checker in chunks of size bytes.
func streamAll(t *testing.T, g *Guards, channel, text string, size int) []Verdict {
	t.Helper()
	oc := g.NewOutputChecker(OutputOptions{})
	return feedChunks(t, oc, channel, text, size)
}

func feedChunks(t *testing.T, oc OutputChecker, channel, text string, size int) []Verdict {
	t.Helper()
	ctx := context.Background()
	var all []Verdict
	for len(text) > 0 {
		n := min(size, len(text))
		vs, err := oc.Feed(ctx, channel, text[:n])
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, vs...)
		text = text[n:]
	}
	vs, err := oc.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return append(all, vs...)
}
