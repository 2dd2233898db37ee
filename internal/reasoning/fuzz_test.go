package reasoning

import (
	"math/rand/v2"
	"testing"
)

// FuzzSplitter checks that Split matches the reference splitter and that
// any chunking of the text, including byte by byte, gives the same result.
func FuzzSplitter(f *testing.F) {
	for _, s := range []string{
		"<think>\nhmm\n</think>\n\nFour.", "a < b", "<think", "<thi</think>a", " \n<think>a</th",
		"Okay</think>\n\nDone", "<think>a<</think>b", "</think></think>", "",
	} {
		for m := range 3 {
			f.Add(s, uint8(m), uint64(len(s)))
		}
	}
	f.Fuzz(func(t *testing.T, text string, mode uint8, seed uint64) {
		m := Mode(mode % 3)
		rng := rand.New(rand.NewPCG(seed, 1))
		var chunks []string
		for rest := text; rest != ""; {
			n := min(rng.IntN(12), len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		bytewise := make([]string, len(text))
		for i := 0; i < len(text); i++ {
			bytewise[i] = text[i : i+1]
		}
		checkAgainstRef(t, text, m, chunks, bytewise)
	})
}
