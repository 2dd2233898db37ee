// Command train fits the guard classifiers on the shared guard data and
// the synthetic samples, and writes their weights where the guard package
// embeds them. The same data and seed always give the same files.
//
//	go run ./internal/guard/cmd/train
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/rampart-gw/rampart/internal/guard/classifier"
	"github.com/rampart-gw/rampart/internal/guard/dataset"
	"github.com/rampart-gw/rampart/internal/guard/normalize"
)

func main() {
	data := flag.String("data", "../shared/data/guard", "shared guard data directory")
	syn := flag.String("synthetic", "internal/guard/testdata/synthetic.jsonl", "synthetic samples")
	out := flag.String("o", "internal/guard/models", "output directory")
	seed := flag.Uint64("seed", 1, "training seed")
	flag.Parse()
	c, err := dataset.LoadCorpus(*data, *syn)
	if err != nil {
		slog.Error("load", "err", err)
		os.Exit(1)
	}
	opt := classifier.Options{Bits: 16, Epochs: 12, Rate: 0.5, L2: 1e-6, Seed: *seed}
	for name, sets := range map[string]func(dataset.Part) []classifier.Example{
		"attack":   func(p dataset.Part) []classifier.Example { return AttackSet(c, p) },
		"harmful":  func(p dataset.Part) []classifier.Example { return HarmfulSet(c, p) },
		"indirect": func(p dataset.Part) []classifier.Example { return IndirectSet(c, p) },
	} {
		if err := fit(name, sets, opt, *out); err != nil {
			slog.Error("train", "model", name, "err", err)
			os.Exit(1)
		}
	}
}

func fit(name string, set func(dataset.Part) []classifier.Example, opt classifier.Options, dir string) error {
	m := classifier.Train(set(dataset.Train), opt)
	classifier.Calibrate(m, set(dataset.Calibrate))
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, name+".bin.gz")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	slog.Info("trained", "model", name, "bytes", len(b), "A", m.A, "B", m.B, "path", path)
	return nil
}

func norm(s string) string { return normalize.Normalize(s).Text }

// AttackSet is jailbreaks and direct injections against benign and plain
// harmful requests: the attack model judges the form of a prompt, not its
// topic.
func AttackSet(c *dataset.Corpus, p dataset.Part) []classifier.Example {
	var out []classifier.Example
	for _, s := range dataset.Filter(c.Prompts, p) {
		out = append(out, classifier.Example{Text: norm(s.Text), Positive: s.Label == dataset.Jailbreak || s.Label == dataset.Injection})
	}
	return out
}

// HarmfulSet is harmful requests against benign prompts.
func HarmfulSet(c *dataset.Corpus, p dataset.Part) []classifier.Example {
	var out []classifier.Example
	for _, s := range dataset.Filter(c.Prompts, p) {
		if s.Label == dataset.Harmful || s.Label == dataset.Benign {
			out = append(out, classifier.Example{Text: norm(s.Text), Positive: s.Label == dataset.Harmful})
		}
	}
	return out
}

// maxSegmentsPerDoc keeps long tables from swamping the negatives.
const maxSegmentsPerDoc = 12

// IndirectSet is injected instructions against the segments of clean
// documents.
func IndirectSet(c *dataset.Corpus, p dataset.Part) []classifier.Example {
	var out []classifier.Example
	for _, s := range dataset.Filter(c.Attacks, p) {
		out = append(out, classifier.Example{Text: norm(s.Text), Positive: true})
	}
	for _, s := range dataset.Filter(c.Contexts, p) {
		n := 0
		classifier.Segments(norm(s.Text), func(seg string) {
			if n < maxSegmentsPerDoc {
				out = append(out, classifier.Example{Text: seg})
				n++
			}
		})
	}
	return out
}
