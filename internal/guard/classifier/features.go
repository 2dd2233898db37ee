// Package classifier is a linear model over hashed word and character
// n-grams: small enough to embed in the binary, fast enough to score every
// message on the request path, and reproducible from its training data.
package classifier

import "math/bits"

// maxScan bounds the text a score reads, so cost stays linear in a small
// constant on huge prompts; attacks show themselves early and throughout.
const maxScan = 8192

// mix is a fast 32-bit finaliser (from MurmurHash3) that spreads the
// bits of a feature key over the table.
func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80 || c == '\''
}

// features calls fn with the hash of every feature of the lowercased text:
// word unigrams and bigrams, and character 4-grams with white space
// collapsed. It returns the number of features.
func features(text string, fn func(h uint32)) int {
	if len(text) > maxScan {
		text = text[:maxScan]
	}
	n := 0
	const fnvOff, fnvPrime = 2166136261, 16777619
	var prev uint32
	w := uint32(fnvOff)
	inWord := false
	var win uint32 // the last four bytes, white space collapsed to one
	var last byte
	for i := 0; i <= len(text); i++ {
		c := byte(' ')
		if i < len(text) {
			c = text[i]
		}
		if isWordByte(c) {
			w = (w ^ uint32(c)) * fnvPrime
			inWord = true
		} else if inWord {
			fn(mix(w))
			if prev != 0 {
				fn(mix(bits.RotateLeft32(prev, 7) ^ w ^ 0x9e3779b9))
			}
			n += 2
			prev, w, inWord = w, fnvOff, false
		}
		if c == '\n' || c == '\t' || c == '\r' {
			c = ' '
		}
		if c == ' ' && last == ' ' {
			continue
		}
		last = c
		win = win<<8 | uint32(c)
		if i >= 3 {
			fn(mix(win ^ 0x5bd1e995))
			n++
		}
	}
	return n
}
