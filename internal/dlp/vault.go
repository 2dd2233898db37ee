package dlp

import (
	"strconv"
	"strings"
	"sync"
)

// maxPlaceholder bounds a placeholder's length: "<" + label + "_" + n + ">".
const maxPlaceholder = 64

// Vault holds the reversible pseudonyms of one request: each value leaves as
// a placeholder such as <EMAIL_1>, the same value always as the same
// placeholder, and Restore puts the values back into the response. The zero
// value is ready to use; a Vault is safe for concurrent use.
type Vault struct {
	mu      sync.Mutex
	byValue map[string]string
	byPH    map[string]string
	next    map[string]int
}

// NewVault returns an empty vault.
func NewVault() *Vault { return &Vault{} }

// pseudonym returns the placeholder for value, creating one if needed.
func (v *Vault) pseudonym(typ, value string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byValue == nil {
		v.byValue, v.byPH, v.next = map[string]string{}, map[string]string{}, map[string]int{}
	}
	key := typ + "\x00" + value
	if ph, ok := v.byValue[key]; ok {
		return ph
	}
	label := Label(typ)
	v.next[label]++
	ph := "<" + label + "_" + strconv.Itoa(v.next[label]) + ">"
	v.byValue[key], v.byPH[ph] = ph, value
	return ph
}

// Len returns the number of values held.
func (v *Vault) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.byPH)
}

// Restore replaces every known placeholder in text with its value.
// Unknown placeholders are left as they are.
func (v *Vault) Restore(text string) string {
	if v == nil || strings.IndexByte(text, '<') < 0 {
		return text
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.byPH) == 0 {
		return text
	}
	var b strings.Builder
	pos := 0
	for off := 0; off < len(text); {
		i := strings.IndexByte(text[off:], '<')
		if i < 0 {
			break
		}
		start := off + i
		end := placeholderEnd(text, start)
		if end < 0 {
			off = start + 1
			continue
		}
		val, ok := v.byPH[text[start:end]]
		if !ok {
			off = end
			continue
		}
		b.WriteString(text[pos:start])
		b.WriteString(val)
		pos, off = end, end
	}
	if pos == 0 {
		return text
	}
	b.WriteString(text[pos:])
	return b.String()
}

// placeholderEnd returns the end of a well-formed placeholder at start
// ("<" [A-Z0-9_]+ "_" digits ">"), or -1.
func placeholderEnd(s string, start int) int {
	j := start + 1
	for j < len(s) && j-start < maxPlaceholder && (isUpper(s[j]) || isDigit(s[j]) || s[j] == '_') {
		j++
	}
	if j >= len(s) || s[j] != '>' || j-start < 4 {
		return -1
	}
	k := j - 1
	for k > start && isDigit(s[k]) {
		k--
	}
	if k == j-1 || s[k] != '_' {
		return -1
	}
	return j + 1
}

// openPlaceholder returns the start of a trailing, still incomplete
// placeholder in s, or -1, so that a stream holds it back until it ends.
func openPlaceholder(s string) int {
	i := strings.LastIndexByte(s, '<')
	if i < 0 || len(s)-i >= maxPlaceholder {
		return -1
	}
	for j := i + 1; j < len(s); j++ {
		if !isUpper(s[j]) && !isDigit(s[j]) && s[j] != '_' {
			return -1
		}
	}
	return i
}
