// Package dataset loads the labelled prompts the guard classifiers are
// trained and evaluated on, and splits them deterministically so that
// every run of training and evaluation sees the same held-out part.
package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"

	"github.com/go-json-experiment/json"
)

// Labels of the prompt data.
const (
	Jailbreak = "jailbreak"
	Injection = "injection"
	Harmful   = "harmful"
	Benign    = "benign"
)

// Sample is one labelled text.
type Sample struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Label    string `json:"label"`
	Source   string `json:"source"`
	Category string `json:"category,omitempty"`
	Question string `json:"question,omitempty"`
}

// Part names a deterministic slice of the data.
type Part int

// The parts: roughly 70% train, 10% calibration, 20% test.
const (
	Train Part = iota
	Calibrate
	Test
)

// PartOf assigns an ID to a part by its hash, so the split does not depend
// on file order and a sample never moves between parts.
func PartOf(id string) Part {
	h := fnv.New64a()
	_, _ = io.WriteString(h, id)
	switch h.Sum64() % 10 {
	case 0, 1:
		return Test
	case 2:
		return Calibrate
	}
	return Train
}

// Filter returns the samples of one part.
func Filter(s []Sample, p Part) []Sample {
	var out []Sample
	for _, x := range s {
		if PartOf(x.ID) == p {
			out = append(out, x)
		}
	}
	return out
}

// ErrMissing reports that the data directory is absent.
var ErrMissing = errors.New("dataset: data not found")

// Load reads a JSON-lines file of samples.
func Load(path string) ([]Sample, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrMissing, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open samples: %w", err)
	}
	defer f.Close()
	var out []Sample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var s Sample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read samples: %w", err)
	}
	return out, nil
}

// Corpus is every source the guards learn from.
type Corpus struct {
	Prompts   []Sample // prompts.jsonl plus synthetic prompts
	Attacks   []Sample // indirect-injection instructions (BIPIA and synthetic)
	Contexts  []Sample // clean documents (BIPIA)
	Synthetic int      // how many prompts and attacks are synthetic
}

// LoadCorpus reads the shared data directory and the synthetic file.
func LoadCorpus(dataDir, syntheticPath string) (*Corpus, error) {
	var c Corpus
	var err error
	if c.Prompts, err = Load(filepath.Join(dataDir, "prompts.jsonl")); err != nil {
		return nil, err
	}
	if c.Attacks, err = Load(filepath.Join(dataDir, "bipia_attacks.jsonl")); err != nil {
		return nil, err
	}
	if c.Contexts, err = Load(filepath.Join(dataDir, "bipia_contexts.jsonl")); err != nil {
		return nil, err
	}
	syn, err := Load(syntheticPath)
	if err != nil {
		return nil, err
	}
	c.Synthetic = len(syn)
	for _, s := range syn {
		if s.Source == SourceIndirect {
			c.Attacks = append(c.Attacks, s)
		} else {
			c.Prompts = append(c.Prompts, s)
		}
	}
	return &c, nil
}
