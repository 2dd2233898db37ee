// Command gensynth writes the synthetic guard training and evaluation
// samples to internal/guard/testdata/synthetic.jsonl.
//
//	go run ./internal/guard/cmd/gensynth
package main

import (
	"bufio"
	"flag"
	"log/slog"
	"os"

	"github.com/go-json-experiment/json"

	"github.com/rampart-gw/rampart/internal/guard/dataset"
)

func main() {
	out := flag.String("o", "internal/guard/testdata/synthetic.jsonl", "output file")
	seed := flag.Uint64("seed", 1, "random seed")
	n := flag.Int("n", 600, "samples per kind")
	flag.Parse()
	if err := write(*out, dataset.Synthesize(*seed, *n)); err != nil {
		slog.Error("gensynth", "err", err)
		os.Exit(1)
	}
}

func write(path string, samples []dataset.Sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, s := range samples {
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		w.Write(append(b, '\n'))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
