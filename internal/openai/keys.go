package openai

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-gw/rampart/internal/apierr"
)

// Decided member names: the fields Rampart reads and acts on. A client may
// not send a variant of one of these that differs only in case, '_' or '-',
// because some upstream parsers match names case-insensitively (Go's
// encoding/json, including its Unicode folding of 'ſ' to 's' and 'K' to 'k')
// or ignore '_' and '-' (encoding/json/v2 with case:ignore).
var (
	topKeys = []string{"model", "stream", "stream_options", "messages", "max_tokens",
		"max_completion_tokens", "tools", "prompt", "input"}
	messageKeys       = []string{"role", "content", "name", "tool_calls", "reasoning_content", "reasoning"}
	partKeys          = []string{"type", "text"}
	streamOptionsKeys = []string{"include_usage"}
	toolCallKeys      = []string{"function"}
	functionKeys      = []string{"arguments"}
)

// maxFoldLen bounds the names compared by folding; no decided name is longer
// than 21 bytes, and each folded character takes at most 3 bytes.
const maxFoldLen = 96

// checkVariant fails if name, which is not itself a decided name, folds to
// one of decided.
func (s *scanner) checkVariant(name []byte, decided []string) error {
	if len(name) > maxFoldLen {
		return nil
	}
	d, ok := foldedDecided(name)
	if !ok {
		return nil
	}
	for _, k := range decided {
		if k == d {
			p := s.param()
			return apierr.BadParam(p, CodeDuplicateKey, fmt.Sprintf(
				"'%s' is a variant of the field name '%s'; field names are case-sensitive, use '%s'", p, d, d))
		}
	}
	return nil
}

// foldedDecided folds name (simple case folding, '_' and '-' removed) and
// returns the decided name with the same fold, if any. It does not allocate.
func foldedDecided(name []byte) (string, bool) {
	var buf [maxFoldLen]byte
	n := 0
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '_' || c == '-':
				continue
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			}
			buf[n] = c
			n++
			continue
		}
		r, size := utf8.DecodeRune(name[i:])
		i += size
		n += utf8.EncodeRune(buf[n:], foldRune(r))
	}
	d, ok := decidedByFold[string(buf[:n])]
	return d, ok
}

// foldRune returns the smallest rune in r's case-folding orbit, so that
// 'K', 'k' and the Kelvin sign all map to the same rune.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	min := r
	for f := foldNext(r); f != r; f = foldNext(f) {
		if f < min {
			min = f
		}
	}
	if min >= 'A' && min <= 'Z' {
		min += 'a' - 'A'
	}
	return min
}

// decidedByFold maps the folded form of every decided name to the name.
var decidedByFold = func() map[string]string {
	m := map[string]string{}
	for _, list := range [][]string{topKeys, messageKeys, partKeys, streamOptionsKeys, toolCallKeys, functionKeys} {
		for _, k := range list {
			m[strings.ReplaceAll(k, "_", "")] = k
		}
	}
	return m
}()

// foldNext is unicode.SimpleFold, named for readability at the call site.
var foldNext = unicode.SimpleFold
