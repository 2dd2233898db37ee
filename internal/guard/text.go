package guard

import "strings"

// containsWord reports whether w occurs in text starting at a word
// boundary; w may end inside a word, so "defam" matches "defamatory".
func containsWord(text, w string) bool {
	for off := 0; off < len(text); {
		i := strings.Index(text[off:], w)
		if i < 0 {
			return false
		}
		i += off
		if i == 0 || !isWordByte(text[i-1]) {
			return true
		}
		off = i + 1
	}
	return false
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
}

// tailCut returns the last n bytes of s, starting at a UTF-8 boundary.
func tailCut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && s[i]&0xC0 == 0x80 {
		i++
	}
	return s[i:]
}
