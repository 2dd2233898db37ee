package normalize

import "strings"

// isHidden reports whether r is an invisible formatting character that
// changes no meaning for a reader but can split or smuggle words past a
// filter: zero-width characters, bidi controls, joiners, soft hyphens,
// variation selectors and the Unicode tag block.
func isHidden(r rune) bool {
	switch {
	case r >= 0x200B && r <= 0x200F, // zero-width space, joiners, LRM, RLM
		r >= 0x202A && r <= 0x202E,   // bidi embeddings and overrides
		r >= 0x2060 && r <= 0x2064,   // word joiner, invisible operators
		r >= 0x2066 && r <= 0x206F,   // bidi isolates, deprecated formats
		r >= 0xFE00 && r <= 0xFE0F,   // variation selectors
		r >= 0xE0000 && r <= 0xE007F, // tag characters
		r >= 0xE0100 && r <= 0xE01EF, // variation selectors supplement
		r == 0xFEFF, r == 0x00AD, r == 0x180E, r == 0x034F, r == 0x061C,
		r == 0x115F, r == 0x1160, r == 0x3164, r == 0xFFA0:
		return true
	case r < 0x20 && r != '\n' && r != '\r' && r != '\t', r == 0x7f:
		return true
	}
	return false
}

// stripHidden removes invisible characters from s. Tag characters mirror
// ASCII (U+E0041 is an invisible "A"), a known way to smuggle instructions,
// so their ASCII reading is returned as well.
func stripHidden(s string) (clean, tags string, n int) {
	var b, t strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !isHidden(r) {
			b.WriteRune(r)
			continue
		}
		n++
		if r >= 0xE0020 && r <= 0xE007E {
			t.WriteByte(byte(r - 0xE0000))
		}
	}
	return b.String(), t.String(), n
}
