package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// The DeepSeek-V3 pre-tokenizer is a sequence of three regex splits, each
// keeping both the matches and the text between them ("Isolated"):
//
//  1. \p{N}{1,3}
//  2. [\x{4e00}-\x{9fa5}\x{3040}-\x{309f}\x{30a0}-\x{30ff}]+
//  3. [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+
//     |[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
//     | ?[\p{P}\p{S}]+[\r\n]*
//     |\s*[\r\n]+
//     |\s+(?!\S)
//     |\s+
//
// The third uses a lookahead, which Go's regexp lacks, so each split is
// written by hand with the semantics of a backtracking engine (the
// reference implementation runs them as JavaScript regular expressions:
// the first alternative that matches wins, and \s is JavaScript's). Text
// is walked rune by rune; a byte that is not valid UTF-8 is one character
// of no class, so that any input splits and round-trips.

// Character classes, as bits.
const (
	clsL     = 1 << iota // \p{L}
	clsM                 // \p{M}
	clsN                 // \p{N}
	clsP                 // \p{P}
	clsS                 // \p{S}
	clsSpace             // JavaScript's \s
	clsCRLF              // \r or \n
	clsASCIIPunct
	clsASCIILetter
	clsCJK // the ranges of split 2
)

// asciiClass holds the classes of the ASCII characters.
var asciiClass = func() (t [utf8.RuneSelf]uint16) {
	for r := range rune(utf8.RuneSelf) {
		t[r] = runeClassSlow(r)
	}
	return t
}()

// class returns the classes of the character at s[i:] and its width.
func class(s string, i int) (uint16, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n == 1 {
		return 0, 1
	}
	if r < 0x10000 {
		return bmpClass()[r], n
	}
	return runeClassSlow(r), n
}

// bmpClass returns the classes of the Basic Multilingual Plane, computed
// once (128 KiB): the Unicode tables are binary searches, and each
// character is classed up to three times.
var bmpClass = sync.OnceValue(func() *[0x10000]uint16 {
	t := new([0x10000]uint16)
	for r := range rune(0x10000) {
		t[r] = runeClassSlow(r)
	}
	return t
})

func runeClassSlow(r rune) uint16 {
	var c uint16
	switch {
	case unicode.IsLetter(r):
		c |= clsL
	case unicode.IsMark(r):
		c |= clsM
	case unicode.IsNumber(r):
		c |= clsN
	case unicode.IsPunct(r):
		c |= clsP
	case unicode.IsSymbol(r):
		c |= clsS
	}
	if isJSSpace(r) {
		c |= clsSpace
	}
	if r == '\r' || r == '\n' {
		c |= clsCRLF
	}
	if r < utf8.RuneSelf {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			c |= clsASCIILetter
		}
		if r >= '!' && r <= '/' || r >= ':' && r <= '@' || r >= '[' && r <= '`' || r >= '{' && r <= '~' {
			c |= clsASCIIPunct
		}
	}
	if r >= 0x4e00 && r <= 0x9fa5 || r >= 0x3040 && r <= 0x309f || r >= 0x30a0 && r <= 0x30ff {
		c |= clsCJK
	}
	return c
}

// isJSSpace reports whether r matches \s in a JavaScript regular
// expression: the Unicode space separators, the ASCII controls \t\n\v\f\r,
// the line and paragraph separators and the byte order mark (but not
// U+0085, which Go's unicode.IsSpace counts).
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x2028, 0x2029, 0xfeff:
		return true
	}
	return unicode.Is(unicode.Zs, r)
}

// preTokenize calls emit with each piece of text, in order; the pieces
// concatenate to text.
func preTokenize(text string, emit func(string)) {
	splitDigits(text, func(p string, digits bool) {
		if digits {
			// Split 2 and 3 leave a run of numbers whole.
			emit(p)
			return
		}
		splitCJK(p, func(q string) { splitWords(q, emit) })
	})
}

// splitDigits is split 1: runs of up to three numbers, and the text
// between them.
func splitDigits(s string, emit func(string, bool)) {
	start := 0
	for i := 0; i < len(s); {
		c, n := class(s, i)
		if c&clsN == 0 {
			i += n
			continue
		}
		if start < i {
			emit(s[start:i], false)
		}
		j, count := i+n, 1
		for j < len(s) && count < 3 {
			c2, n2 := class(s, j)
			if c2&clsN == 0 {
				break
			}
			j += n2
			count++
		}
		emit(s[i:j], true)
		start, i = j, j
	}
	if start < len(s) {
		emit(s[start:], false)
	}
}

// splitCJK is split 2: runs of the CJK ranges, and the text between them.
func splitCJK(s string, emit func(string)) {
	start := 0
	for i := 0; i < len(s); {
		c, n := class(s, i)
		if c&clsCJK == 0 {
			i += n
			continue
		}
		if start < i {
			emit(s[start:i])
		}
		j := i + n
		for j < len(s) {
			c2, n2 := class(s, j)
			if c2&clsCJK == 0 {
				break
			}
			j += n2
		}
		emit(s[i:j])
		start, i = j, j
	}
	if start < len(s) {
		emit(s[start:])
	}
}

// splitWords is split 3.
func splitWords(s string, emit func(string)) {
	start := 0
	for i := 0; i < len(s); {
		c, n := class(s, i)
		end := matchWord(s, i, c, n)
		if end < 0 {
			i += n
			continue
		}
		if start < i {
			emit(s[start:i])
		}
		emit(s[i:end])
		start, i = end, end
	}
	if start < len(s) {
		emit(s[start:])
	}
}

// run returns the end of the run of characters of any class in want
// starting at s[i:].
func run(s string, i int, want uint16) int {
	for i < len(s) {
		c, n := class(s, i)
		if c&want == 0 {
			break
		}
		i += n
	}
	return i
}

// matchWord returns the end of the match of split 3's regex at s[i:],
// whose first character has classes c and width n, or -1.
func matchWord(s string, i int, c uint16, n int) int {
	// [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+
	if c&clsASCIIPunct != 0 {
		if j := run(s, i+1, clsASCIILetter); j > i+1 {
			return j
		}
	}
	// [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
	if c&(clsCRLF|clsL|clsP|clsS) == 0 {
		if j := run(s, i+n, clsL|clsM); j > i+n {
			return j
		}
	}
	if c&(clsL|clsM) != 0 {
		return run(s, i, clsL|clsM)
	}
	//  ?[\p{P}\p{S}]+[\r\n]*
	k := i
	if s[i] == ' ' {
		k++
	}
	if j := run(s, k, clsP|clsS); j > k {
		return run(s, j, clsCRLF)
	}
	if c&clsSpace == 0 {
		return -1
	}
	// \s*[\r\n]+ : the whitespace run up to its last line break.
	j, lastBreak, last := i, -1, i
	for j < len(s) {
		c2, n2 := class(s, j)
		if c2&clsSpace == 0 {
			break
		}
		if c2&clsCRLF != 0 {
			lastBreak = j
		}
		last = j
		j += n2
	}
	if lastBreak >= 0 {
		return lastBreak + 1
	}
	// \s+(?!\S) : the run, less its last character when text follows.
	if j < len(s) && last > i {
		return last
	}
	// \s+
	return j
}
