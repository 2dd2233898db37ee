package guard

import (
	"context"
	"fmt"
	"testing"

	"github.com/rampart-gw/rampart/internal/guard/dataset"
)

// Hand-written evaluation sets, never trained or tuned on: everyday
// prompts of every kind (follow-ups, questions of every field, coding,
// writing, role-play, questions about AI and prompts, technical uses of
// trigger words) and short direct injections and jailbreaks (docs/evaluation.md).
const (
	everydayHandwrittenFile = "testdata/everyday_handwritten.jsonl"
	shortAttacksFile        = "testdata/short_attacks.jsonl"
)

// Measured on the hand-written sets (docs/evaluation.md): the everyday
// prompts any guard may block, and the short attacks the injection guard
// must catch, less a margin of two prompts.
const (
	maxEverydayBlocked = 0.02
	minShortRecall     = (52 - 2) / 64.0
)

func loadHandwritten(t *testing.T, path string) []dataset.Sample {
	t.Helper()
	s, err := dataset.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func describe(vs []Verdict) string {
	out := ""
	for _, v := range vs {
		out += fmt.Sprintf(" %s/%s %.3f %s", v.Guard, v.Rule, v.Score, v.Action)
	}
	return out
}

// TestEverydayHandwritten: under the default configuration no more than
// 2% of the hand-written everyday prompts are blocked by any guard.
func TestEverydayHandwritten(t *testing.T) {
	t.Parallel()
	g := mustNew(t, Config{})
	samples := loadHandwritten(t, everydayHandwrittenFile)
	if len(samples) < 150 {
		t.Fatalf("%d everyday prompts, want at least 150", len(samples))
	}
	blocked := 0
	for _, s := range samples {
		vs := g.CheckText(context.Background(), "user", s.Text)
		if Blocked(vs) {
			blocked++
			t.Logf("blocked %s %q:%s", s.ID, s.Text, describe(vs))
		}
	}
	rate := float64(blocked) / float64(len(samples))
	t.Logf("everyday hand-written: %d of %d blocked (%.1f%%)", blocked, len(samples), 100*rate)
	if rate > maxEverydayBlocked {
		t.Errorf("%d of %d everyday prompts blocked (%.1f%%), want at most %.0f%%", blocked, len(samples), 100*rate, 100*maxEverydayBlocked)
	}
}

// TestShortAttacksHandwritten: the injection guard catches the hand-written
// short injections and jailbreaks at no less than the measured recall.
func TestShortAttacksHandwritten(t *testing.T) {
	t.Parallel()
	g := mustNew(t, Config{})
	samples := loadHandwritten(t, shortAttacksFile)
	if len(samples) < 60 {
		t.Fatalf("%d short attacks, want at least 60", len(samples))
	}
	hit, blocked := 0, 0
	for _, s := range samples {
		vs := g.CheckText(context.Background(), "user", s.Text)
		if Blocked(vs) {
			blocked++
		}
		if hasVerdict(vs, GuardInjection, "") && Blocked(vs) {
			hit++
			t.Logf("caught %s %q:%s", s.ID, s.Text, describe(vs))
		} else {
			t.Logf("missed %s %q:%s", s.ID, s.Text, describe(vs))
		}
	}
	recall := float64(hit) / float64(len(samples))
	t.Logf("short attacks hand-written: injection guard caught %d of %d (%.1f%%), blocked by any guard %d", hit, len(samples), 100*recall, blocked)
	if recall < minShortRecall {
		t.Errorf("recall %.3f on short attacks, want at least %.3f", recall, minShortRecall)
	}
}
