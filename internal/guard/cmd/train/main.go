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
	opt := dataset.TrainOptions
	opt.Seed = *seed
	for name, sets := range map[string]func(dataset.Part) []classifier.Example{
		"attack":   func(p dataset.Part) []classifier.Example { return dataset.AttackSet(c, p) },
		"harmful":  func(p dataset.Part) []classifier.Example { return dataset.HarmfulSet(c, p) },
		"indirect": func(p dataset.Part) []classifier.Example { return dataset.IndirectSet(c, p) },
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
