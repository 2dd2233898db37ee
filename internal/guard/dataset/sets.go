package dataset

import (
	"github.com/rampart-gw/rampart/internal/guard/classifier"
	"github.com/rampart-gw/rampart/internal/guard/normalize"
)

// TrainOptions are the options the embedded models were trained with.
var TrainOptions = classifier.Options{Bits: 16, Epochs: 12, Rate: 0.5, L2: 1e-6, Seed: 1}

func norm(s string) string { return normalize.Normalize(s).Text }

// AttackSet is jailbreaks and direct injections against benign and plain
// harmful requests: the attack model judges the form of a prompt, not its
// topic.
func AttackSet(c *Corpus, p Part) []classifier.Example {
	var out []classifier.Example
	for _, s := range Filter(c.Prompts, p) {
		out = append(out, classifier.Example{Text: norm(s.Text), Positive: s.Label == Jailbreak || s.Label == Injection})
	}
	return out
}

// HarmfulSet is harmful requests against benign prompts.
func HarmfulSet(c *Corpus, p Part) []classifier.Example {
	var out []classifier.Example
	for _, s := range Filter(c.Prompts, p) {
		if s.Label == Harmful || s.Label == Benign {
			out = append(out, classifier.Example{Text: norm(s.Text), Positive: s.Label == Harmful})
		}
	}
	return out
}

// maxSegmentsPerDoc keeps long tables from swamping the negatives.
const maxSegmentsPerDoc = 12

// IndirectSet is injected instructions against the segments of clean
// documents.
func IndirectSet(c *Corpus, p Part) []classifier.Example {
	var out []classifier.Example
	for _, s := range Filter(c.Attacks, p) {
		out = append(out, classifier.Example{Text: norm(s.Text), Positive: true})
	}
	for _, s := range Filter(c.Contexts, p) {
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
