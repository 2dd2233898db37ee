package guard

import (
	"regexp"
	"strings"
	"sync"

	"github.com/rampart-gw/rampart/internal/guard/normalize"
)

// MinEvidenceWords is the length from which a classifier score alone
// blocks at the configured threshold. On shorter texts a linear model over
// n-grams reads a handful of features, so its own weights for "can you
// ... me" or "what is" decide the score ("What is supply and demand?"
// scored 0.435 as an attack); there the threshold rises towards 1 in
// proportion to the missing words. Chosen on the calibration part
// (docs/evaluation.md). Rules fire on texts of any length.
const MinEvidenceWords = 12

// evidenceThreshold is the classifier threshold for a text of words
// words: th from MinEvidenceWords on, rising linearly to 1 below.
func evidenceThreshold(th float64, words int) float64 {
	return EvidenceThreshold(th, words, MinEvidenceWords)
}

// countWords counts runs of non-space bytes, stopping at limit: the
// threshold only needs to know whether a text is shorter than the window.
func countWords(t string, limit int) int {
	n, in := 0, false
	for i := 0; i < len(t) && n < limit; i++ {
		c := t[i]
		space := c == ' ' || c == '\n' || c == '\t' || c == '\r'
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

// personaFrame is a role-play opener: "act as", "pretend you are",
// "I want you to act as", "let's role-play:", after an optional softener.
// It is compiled on first use.
var personaFrame = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*(?:(?:please|ok(?:ay)?|now|so|hey|can you|could you|would you|will you|i want you to|i'd like you to|i would like you to)[\s,]+)*(?:act as|acting as|pretend (?:to be|you are|you're|that you are)|imagine (?:you are|you're|that you are)|you are now|you're now|you are|you're|role-?play as|play the role of|let's role-?play\s*[:,-]?\s*(?:you are|you're)?)\s+`)
})

// withoutPersona returns t without a leading role-play frame, so the
// classifiers judge what the persona is asked to do, not the frame that
// every role-play request shares with persona jailbreaks. The jailbreak
// rules (JB-*) still see the whole text.
func withoutPersona(t string) string {
	if m := personaFrame().FindStringIndex(t); m != nil {
		return strings.TrimSpace(t[m[1]:])
	}
	return t
}

// ClassifierScores returns the attack and harmful classifier scores of a
// user message as the input guards read it (normalised, without a leading
// role-play frame; decoded views aside) and the number of words scored,
// for evaluation tools that sweep thresholds.
func (g *Guards) ClassifierScores(text string) (attack, harmful float64, words int) {
	t := withoutPersona(normalize.Normalize(text).Text)
	return g.m.attack.Score(t), g.m.harmful.Score(t), countWords(t, len(t))
}

// EvidenceThreshold is the threshold a classifier score alone must reach
// on a text of words words when the evidence window is window words
// (MinEvidenceWords in the guards): th from window words on, rising
// linearly to 1 below. A window of 0 turns the rise off.
func EvidenceThreshold(th float64, words, window int) float64 {
	if words >= window || th >= 1 {
		return th
	}
	return max(th, 1-(1-th)*float64(words)/float64(window))
}
