package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-gw/rampart/internal/dlp"
)

// dataDir is the shared evaluation data, relative to this package.
const dataDir = "../../../../../shared/data"

func need(t *testing.T, path string) string {
	t.Helper()
	p := filepath.Join(dataDir, path)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("evaluation data absent (%s): %v", p, err)
	}
	return p
}

// TestPresidioGoals holds the detectors to the goals: F2 >= 0.85
// over the supported types and recall >= 0.95 for cards, emails, phones,
// IBANs and SSNs.
func TestPresidioGoals(t *testing.T) {
	t.Parallel()
	res, err := evalPresidio(need(t, "pii/presidio_generated_large.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all counts
	for _, typ := range supported {
		c := *res.byType[typ]
		all.tp, all.fp, all.fn = all.tp+c.tp, all.fp+c.fp, all.fn+c.fn
		if typ != dlp.TypeIP && c.recall() < 0.95 {
			t.Errorf("%s recall %.3f < 0.95", typ, c.recall())
		}
	}
	if all.f2() < 0.85 {
		t.Errorf("overall F2 %.3f < 0.85", all.f2())
	}
}

func TestDetectSecretsFixtures(t *testing.T) {
	t.Parallel()
	res, err := evalSecrets(need(t, "secrets/detect-secrets"))
	if err != nil {
		t.Fatal(err)
	}
	if res.caught != res.expected || res.expected == 0 {
		t.Errorf("caught %d of %d expected findings; missed %q", res.caught, res.expected, res.missed)
	}
	if len(res.cleanHits) > 0 {
		t.Errorf("findings in files without secrets: %q", res.cleanHits)
	}
}

func TestBenignPrompts(t *testing.T) {
	t.Parallel()
	res, err := evalBenign(need(t, "guard/prompts.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if res.prompts == 0 {
		t.Fatal("no benign prompts read")
	}
	// Allow 1% before calling it a regression.
	if res.flagged*100 > res.prompts {
		t.Errorf("%d of %d benign prompts flagged: %q", res.flagged, res.prompts, res.examples)
	}
}
