package normalize

import "strings"

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// appendHex decodes hex runs, contiguous ("69676e6f7265"), escaped
// ("\x69\x67") or separated by spaces, commas or colons.
func appendHex(views []View, s string) []View {
	for i := 0; i < len(s) && len(views) < maxViews; {
		if hexVal(s[i]) < 0 && s[i] != '\\' {
			i++
			continue
		}
		n, next := readHex(nil, s, i)
		if n >= minEncodedLen/2 {
			b := make([]byte, 0, n)
			readHex(&b, s, i)
			if textLike(b) {
				views = appendView(views, "hex", string(b))
			}
		}
		i = max(next, i+1)
	}
	return views
}

// readHex reads hex-encoded bytes starting at i and returns how many there
// are and the index after the run. It appends them to out when out is not
// nil, so that a first pass can count without allocating.
func readHex(out *[]byte, s string, i int) (int, int) {
	n := 0
	for i < len(s) {
		k := i
		if k+1 < len(s) && (s[k] == '\\' || s[k] == '0') && (s[k+1] == 'x' || s[k+1] == 'X') {
			k += 2
		}
		if k+1 >= len(s) {
			break
		}
		hi, lo := hexVal(s[k]), hexVal(s[k+1])
		if hi < 0 || lo < 0 {
			break
		}
		if out != nil {
			*out = append(*out, byte(hi<<4|lo))
		}
		n++
		i = k + 2
		if i < len(s) && (s[i] == ' ' || s[i] == ',' || s[i] == ':') && i+1 < len(s) && hexVal(s[i+1]) >= 0 {
			i++
		}
	}
	return n, i
}

// urlView decodes percent-encoding when the text carries at least three
// escapes; fewer is ordinary URLs in prose.
func urlView(s string) (string, bool) {
	n := 0
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && hexVal(s[i+1]) >= 0 && hexVal(s[i+2]) >= 0 {
			n++
		}
	}
	if n < 3 {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && hexVal(s[i+1]) >= 0 && hexVal(s[i+2]) >= 0 {
			b.WriteByte(byte(hexVal(s[i+1])<<4 | hexVal(s[i+2])))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

// rot13Words are frequent English and attack words in rot13; two or more of
// them, or the word rot13 itself, make a rot13 reading worth scanning.
var rot13Words = []string{" gur ", " naq ", " lbh ", "vtaber", "vafgehpgvbaf", " bs ", " gb ", "cebzcg", " vf ", "flfgrz", "ercrng", " ubj "}

func rot13View(s string) (string, bool) {
	hits := 0
	for _, w := range rot13Words {
		if strings.Contains(s, w) {
			hits++
		}
	}
	if hits < 2 && !strings.Contains(s, "rot13") && !strings.Contains(s, "rot-13") {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b), true
}

// leet maps digit-for-letter spellings back to letters; zero means none.
var leet = func() (t [256]byte) {
	for k, v := range map[byte]byte{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', '$': 's', '!': 'i', '|': 'l'} {
		t[k] = v
	}
	return t
}()

// leetView undoes digit-for-letter spelling ("1gn0r3") when at least two
// words mix letters with such digits.
func leetView(s string) (string, bool) {
	words := 0
	letter, sub := false, false
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\n' || s[i] == '\t' {
			if letter && sub {
				words++
			}
			letter, sub = false, false
			continue
		}
		c := s[i]
		letter = letter || c >= 'a' && c <= 'z'
		sub = sub || leet[c] != 0
	}
	if words < 2 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		if leet[c] != 0 {
			b[i] = leet[c]
		}
	}
	return string(b), true
}
