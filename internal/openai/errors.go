package openai

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rampart-gw/rampart/internal/apierr"
)

// Codes of the 400 errors returned by Decode.
const (
	CodeInvalidJSON     = "invalid_json"
	CodeInvalidUTF8     = "invalid_utf8"
	CodeTooDeep         = "too_deeply_nested"
	CodeDuplicateKey    = "duplicate_key"
	CodeMissingRequired = "missing_required_parameter"
	CodeInvalidType     = "invalid_type"
	CodeInvalidValue    = "invalid_value"
)

// ErrInvalidResponse is wrapped by every error about a malformed upstream
// response, so that the proxy can map them all to one status.
var ErrInvalidResponse = errors.New("invalid upstream response")

// maxSnippet bounds how much client input an error message may quote.
const maxSnippet = 24

// snippet renders at most maxSnippet bytes of b as a quoted, escaped string,
// so that an error message never carries more than a short excerpt of input.
func snippet(b []byte) string {
	cut := len(b) > maxSnippet
	if cut {
		b = b[:maxSnippet]
		// Do not split a multi-byte character in the excerpt.
		for len(b) > 0 && !utf8.Valid(b) && len(b) > maxSnippet-3 {
			b = b[:len(b)-1]
		}
	}
	q := strconv.QuoteToASCII(string(b))
	if cut {
		return q + "..."
	}
	return q
}

// paramName renders an object member name for a param path: plain names as
// they are, anything unusual as a short escaped snippet.
func paramName(b []byte) string {
	for _, c := range b {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return snippet(b)
		}
	}
	if len(b) > maxSnippet {
		return snippet(b)
	}
	return string(b)
}

// describeByte names the byte at which a syntax error was found.
func describeByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// responseError turns a scanner error into an error about an upstream
// response. Such errors are never shown to the client as they are.
func responseError(err error) error {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		msg := ae.Message
		if ae.Param != "" && !strings.Contains(msg, ae.Param) {
			msg = ae.Param + ": " + msg
		}
		return fmt.Errorf("%w: %s", ErrInvalidResponse, msg)
	}
	return fmt.Errorf("%w: %w", ErrInvalidResponse, err)
}
