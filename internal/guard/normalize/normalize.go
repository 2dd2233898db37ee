// Package normalize turns untrusted text into the canonical form the guards
// inspect: Unicode NFKC, invisible characters removed, look-alike letters
// folded to ASCII, and decoded views of base64, hex, URL-encoded, rot13 and
// Unicode-tag segments, so that an attack cannot hide behind an encoding.
package normalize

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// View is one decoded reading of a segment of the input.
type View struct {
	// Kind names the decoding: base64, hex, url, rot13, tags or leet.
	Kind string
	// Text is the decoded text, lowercased.
	Text string
}

// Result is the normalised form of one text.
type Result struct {
	// Text is the input after removal of invisible characters, NFKC and
	// confusable folding, lowercased: what rules and classifiers read.
	Text string
	// Hidden counts removed zero-width, bidi-control, tag and similar
	// characters; legitimate text rarely carries them, so it is a signal.
	Hidden int
	// Folded counts look-alike letters replaced by their ASCII twin.
	Folded int
	// Views are decoded readings of encoded segments, each to be scanned
	// like the text itself.
	Views []View
}

// Signals reports whether the text showed any evasion sign: invisible
// characters, mixed-script look-alikes or encoded segments.
func (r *Result) Signals() bool {
	return r.Hidden > 0 || r.Folded > 0 || len(r.Views) > 0
}

// Normalize returns the canonical form of s and its decoded views.
func Normalize(s string) Result {
	var r Result
	if isPlainASCII(s) {
		r.Text = strings.ToLower(s)
	} else {
		var tags string
		s, tags, r.Hidden = stripHidden(s)
		if tags != "" {
			r.Views = append(r.Views, View{Kind: "tags", Text: strings.ToLower(tags)})
		}
		s = norm.NFKC.String(s)
		s, r.Folded = foldConfusables(s)
		r.Text = strings.ToLower(s)
	}
	r.Views = appendDecoded(r.Views, r.Text, s)
	return r
}

// isPlainASCII reports whether s is printable ASCII plus common white
// space, for which NFKC, hidden-character removal and folding are no-ops.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
