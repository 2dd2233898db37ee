package guard

import "hash/maphash"

// shingleWords is the length of the word runs compared between the system
// prompt and the answer.
const shingleWords = 4

var shingleSeed = maphash.MakeSeed()

// shingler hashes the last shingleWords words of a stream fed in pieces;
// a word split across fragments is joined before hashing.
type shingler struct {
	words   [shingleWords]uint64
	n       int
	partial []byte
}

// feed consumes text and calls fn with each completed shingle.
func (s *shingler) feed(text string, fn func(uint64)) {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if isWordByte(c) {
			if len(s.partial) < 64 {
				s.partial = append(s.partial, c)
			}
			continue
		}
		if len(s.partial) == 0 {
			continue
		}
		copy(s.words[:], s.words[1:])
		s.words[shingleWords-1] = maphash.Bytes(shingleSeed, s.partial)
		s.partial = s.partial[:0]
		if s.n++; s.n >= shingleWords {
			h := uint64(0)
			for _, w := range s.words {
				h = h*0x9e3779b97f4a7c15 ^ w
			}
			fn(h)
		}
	}
}

// promptShingles returns the shingles of a normalised system prompt.
func promptShingles(text string) map[uint64]struct{} {
	m := map[uint64]struct{}{}
	var s shingler
	s.feed(text+" ", func(h uint64) { m[h] = struct{}{} })
	return m
}

// checkLeakWords counts answer shingles found in the system prompt and
// fires when enough distinct ones are.
func (c *outputChecker) checkLeakWords(out []Verdict, s *channelState, frag string) []Verdict {
	if len(c.sys) == 0 || c.fired[GuardPromptLeak+"/PL-002"] {
		return out
	}
	s.shingles.feed(frag, func(h uint64) {
		if _, ok := c.sys[h]; ok {
			c.hits[h] = struct{}{}
		}
	})
	if len(c.hits) >= max(c.need, 1) {
		score := float64(len(c.hits)) / float64(len(c.sys))
		out = c.fire(out, c.g.cfg.PromptLeak.Action, Verdict{Guard: GuardPromptLeak, Rule: "PL-002", Score: round(min(1, score)), Category: "similarity"})
	}
	return out
}
