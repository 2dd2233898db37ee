package dlp

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }
func isWord(c byte) bool  { return isAlnum(c) || c == '_' }
func isHex(c byte) bool   { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// wordBefore reports whether the character before i continues a word, in
// which case a match starting at i is the tail of a longer token.
// Ideographic scripts, written without spaces, do not count as words.
func wordBefore(s string, i int) bool {
	if i <= 0 {
		return false
	}
	if s[i-1] < utf8.RuneSelf {
		return isAlnum(s[i-1])
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return wordRune(r)
}

// wordAfter reports whether the character at i continues a word.
func wordAfter(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	if s[i] < utf8.RuneSelf {
		return isAlnum(s[i])
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return wordRune(r)
}

func wordRune(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) &&
		!unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// asciiLower returns s with ASCII letters lowered. Other bytes stay in place,
// so byte offsets into the result are offsets into s.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if isUpper(s[i]) {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if isUpper(b[j]) {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// entropy returns the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]uint16
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// hasContext reports whether any of the words occurs in lower (an
// ASCII-lowered text) within the window around [start, end).
func hasContext(lower string, start, end, before, after int, words []string) bool {
	from, to := max(0, start-before), min(len(lower), end+after)
	win := lower[from:to]
	for _, w := range words {
		if containsWord(win, w) {
			return true
		}
	}
	return false
}

// containsWord reports whether w occurs in s not preceded by a letter, so
// that "dob" matches "DOB:" but not "adobe".
func containsWord(s, w string) bool {
	for off := 0; off+len(w) <= len(s); {
		i := indexFrom(s, w, off)
		if i < 0 {
			return false
		}
		if i == 0 || !isAlpha(s[i-1]) {
			return true
		}
		off = i + 1
	}
	return false
}

// indexFrom is strings.Index starting at off, returning an offset into s.
func indexFrom(s, sub string, off int) int {
	i := strings.Index(s[off:], sub)
	if i < 0 {
		return -1
	}
	return off + i
}
