package guard

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/rampart-gw/rampart/internal/guard/classifier"
	"github.com/rampart-gw/rampart/internal/guard/dataset"
)

// Paths of the shared evaluation data and the synthetic samples, relative
// to this package.
const (
	dataDir       = "../../../shared/data/guard"
	syntheticFile = "testdata/synthetic.jsonl"
)

func loadCorpus(t *testing.T) *dataset.Corpus {
	t.Helper()
	c, err := dataset.LoadCorpus(dataDir, syntheticFile)
	if errors.Is(err, dataset.ErrMissing) {
		t.Skipf("shared guard data not available: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHeldOutGoal guards the measured detection and false-positive rates
// on the held-out part against regressions (docs/evaluation.md).
func TestHeldOutGoal(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	g := mustNew(t, Config{})
	var att, attHit, ben, benFP, chat, chatBlocked int
	for _, s := range dataset.Filter(c.Prompts, dataset.Test) {
		vs := g.CheckText(context.Background(), "user", s.Text)
		inj := hasVerdict(vs, GuardInjection, "")
		switch {
		case s.Label == dataset.Jailbreak || s.Label == dataset.Injection:
			att++
			if inj {
				attHit++
			}
		case s.Source == dataset.SourceEveryday:
			// Kept out of the benign pool: easy samples would flatter
			// its false-positive rate.
			chat++
			if Blocked(vs) {
				chatBlocked++
			}
		case s.Label == dataset.Benign:
			ben++
			if inj {
				benFP++
			}
		}
	}
	det, fp, chatFP := float64(attHit)/float64(att), float64(benFP)/float64(ben), float64(chatBlocked)/float64(chat)
	t.Logf("held-out: detection %.3f of %d attacks, injection false positives %.3f of %d benign, everyday chat blocked %.3f of %d", det, att, fp, ben, chatFP, chat)
	if det < 0.95 || fp > 0.02 {
		t.Errorf("detection %.3f (want >= 0.95), false positives %.3f (want <= 0.02)", det, fp)
	}
	if chat == 0 || chatFP > 0.015 {
		t.Errorf("everyday chat blocked %.3f of %d (want <= 0.015; docs/evaluation.md reports 0 of 186)", chatFP, chat)
	}
}

// TestModelsReproducible retrains every model from the data and checks
// the result is identical to the embedded weights. It compares the files'
// uncompressed content: the gzip stream of the same bytes differs between
// Go releases.
func TestModelsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("retraining takes seconds")
	}
	t.Parallel()
	c := loadCorpus(t)
	for name, set := range map[string]func(*dataset.Corpus, dataset.Part) []classifier.Example{
		"attack": dataset.AttackSet, "harmful": dataset.HarmfulSet, "indirect": dataset.IndirectSet,
	} {
		m := classifier.Train(set(c, dataset.Train), dataset.TrainOptions)
		classifier.Calibrate(m, set(c, dataset.Calibrate))
		got, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		want, err := modelFS.ReadFile("models/" + name + ".bin.gz")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gunzip(t, got), gunzip(t, want)) {
			t.Errorf("model %s: retrained weights differ from the embedded file; run go run ./internal/guard/cmd/train", name)
		}
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
