package normalize

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Limits keep decoding cheap and bounded on hostile input.
const (
	maxViews      = 8     // decoded views kept per text
	minEncodedLen = 16    // shortest base64 or hex run worth decoding
	maxViewBytes  = 16384 // longest decoded view kept
)

// appendDecoded adds decoded views of the encoded segments of a text.
// lower is the lowercased canonical text; orig keeps its case, which
// base64 needs.
func appendDecoded(views []View, lower, orig string) []View {
	views = appendBase64(views, orig)
	views = appendHex(views, lower)
	if v, ok := urlView(lower); ok {
		views = appendView(views, "url", v)
	}
	if v, ok := rot13View(lower); ok {
		views = appendView(views, "rot13", v)
	}
	if v, ok := leetView(lower); ok {
		views = appendView(views, "leet", v)
	}
	return views
}

func appendView(views []View, kind, text string) []View {
	if len(views) >= maxViews || text == "" {
		return views
	}
	if len(text) > maxViewBytes {
		text = text[:maxViewBytes]
	}
	return append(views, View{Kind: kind, Text: strings.ToLower(text)})
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '+' || c == '/' || c == '-' || c == '_'
}

// appendBase64 decodes runs of the base64 alphabet that decode to text.
func appendBase64(views []View, s string) []View {
	for i := 0; i < len(s) && len(views) < maxViews; {
		if !isB64(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isB64(s[j]) {
			j++
		}
		run := s[i:j]
		for j < len(s) && s[j] == '=' {
			j++
		}
		i = j
		if len(run) < minEncodedLen || !mixedAlphabet(run) {
			continue
		}
		if d, ok := decodeBase64(run); ok {
			views = appendView(views, "base64", d)
		}
	}
	return views
}

// mixedAlphabet rejects runs that are plain words or numbers: encoded text
// mixes cases or letters and digits.
func mixedAlphabet(run string) bool {
	var up, low, dig bool
	for i := 0; i < len(run); i++ {
		c := run[i]
		up = up || c >= 'A' && c <= 'Z'
		low = low || c >= 'a' && c <= 'z'
		dig = dig || c >= '0' && c <= '9'
	}
	return up && low || (up || low) && dig
}

func decodeBase64(run string) (string, bool) {
	run = strings.TrimRight(run, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(run, "-_") {
		enc = base64.RawURLEncoding
	}
	// A run one byte over a multiple of four cannot be base64; it may be
	// glued to a neighbouring character, so drop that byte.
	if len(run)%4 == 1 {
		run = run[:len(run)-1]
	}
	b, err := enc.DecodeString(run)
	if err != nil || !textLike(b) {
		return "", false
	}
	return string(b), true
}

// textLike reports whether decoded bytes read as human text: valid UTF-8,
// mostly printable, with some letters.
func textLike(b []byte) bool {
	if len(b) < 6 || !utf8.Valid(b) {
		return false
	}
	printable, letters := 0, 0
	for _, c := range b {
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' || c >= 0x80 {
			printable++
		}
		if c|0x20 >= 'a' && c|0x20 <= 'z' {
			letters++
		}
	}
	return printable*10 >= len(b)*9 && letters*2 >= len(b)
}
