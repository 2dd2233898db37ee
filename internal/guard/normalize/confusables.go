package normalize

import "strings"

// confusables maps letters from other scripts that look like Latin ones to
// their ASCII twin. The table is a small curated subset of Unicode's
// confusables.txt covering the Cyrillic, Greek and symbol letters that
// evasion corpora use; NFKC already handles full-width and mathematical
// alphanumerics.
var confusables = map[rune]rune{
	// Cyrillic lower case.
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'һ': 'h', 'і': 'i', 'ї': 'i', 'ј': 'j',
	'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'ѕ': 's', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'ь': 'b', 'г': 'r',
	// Cyrillic upper case.
	'А': 'A', 'В': 'B', 'Е': 'E', 'Ё': 'E', 'Н': 'H', 'І': 'I', 'Ј': 'J', 'К': 'K',
	'М': 'M', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T', 'У': 'Y', 'Х': 'X', 'Ѕ': 'S',
	'Ԁ': 'D', 'Ԛ': 'Q', 'Ԝ': 'W',
	// Greek lower case.
	'α': 'a', 'β': 'b', 'γ': 'y', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v',
	'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'ς': 's',
	// Greek upper case.
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M',
	'Ν': 'N', 'Ο': 'O', 'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	// Latin extensions and symbols that survive NFKC.
	'ı': 'i', 'ȷ': 'j', 'ɑ': 'a', 'ɡ': 'g', 'ɩ': 'i', 'ʀ': 'r', 'ʏ': 'y', 'ᴄ': 'c',
	'ᴏ': 'o', 'ᴠ': 'v', 'ᴡ': 'w', 'ᴢ': 'z', 'ꜱ': 's', 'ɪ': 'i', 'ɴ': 'n', 'ʜ': 'h',
	'ᴀ': 'a', 'ʙ': 'b', 'ᴅ': 'd', 'ᴇ': 'e', 'ꜰ': 'f', 'ᴊ': 'j', 'ᴋ': 'k', 'ʟ': 'l',
	'ᴍ': 'm', 'ᴘ': 'p', 'ᴛ': 't', 'ᴜ': 'u', 'ø': 'o', 'đ': 'd', 'ħ': 'h', 'ł': 'l',
}

// foldConfusables replaces look-alike letters with ASCII and counts them.
func foldConfusables(s string) (string, int) {
	n := 0
	for _, r := range s {
		if _, ok := confusables[r]; ok {
			n++
		}
	}
	if n == 0 {
		return s, 0
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if a, ok := confusables[r]; ok {
			r = a
		}
		b.WriteRune(r)
	}
	return b.String(), n
}
