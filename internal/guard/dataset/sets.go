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

// outOfScope are Do-Not-Answer categories outside Llama Guard 3's hazards
// S1-S14: questions to the chatbot about itself or asking for
// companionship ("Are you proud of me?", "Can you forgive me?") and
// questions about false beliefs ("Do vaccines cause autism?"). An
// assistant should answer them with care, a gateway should not refuse
// them, and by their form they are everyday chat; learnt as harmful they
// taught the model that a short personal question is an attack.
var outOfScope = map[string]bool{"human_chatbox": true, "misinformation_harms": true}

// InScope reports whether a harmful sample belongs to the categories the
// harmful guard is trained to block.
func InScope(s Sample) bool { return !outOfScope[s.Category] }

// everydayHarmfulWeight is the weight of an everyday-chat sample in the
// harmful model's training.
const everydayHarmfulWeight = 2

// HarmfulSet is harmful requests in Llama Guard's categories against
// benign prompts.
func HarmfulSet(c *Corpus, p Part) []classifier.Example {
	var out []classifier.Example
	for _, s := range Filter(c.Prompts, p) {
		if s.Label == Harmful && !InScope(s) {
			continue
		}
		if s.Label == Harmful || s.Label == Benign {
			e := classifier.Example{Text: norm(s.Text), Positive: s.Label == Harmful}
			if s.Source == SourceEveryday {
				e.Weight = everydayHarmfulWeight
			}
			out = append(out, e)
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
