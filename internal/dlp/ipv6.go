package dlp

import (
	"net/netip"
	"strings"
)

// findIPv6 expands around each "::" or hex-colon-hex sequence and lets
// netip parse the candidate; at least three colons or a "::" are required so
// that clock times and ratios ("12:30") are left alone.
func findIPv6(t *input, out []Finding) []Finding {
	s := t.s
	for off := 0; off < len(s); {
		i := strings.IndexByte(s[off:], ':')
		if i < 0 {
			break
		}
		c := off + i
		l := c
		for l > 0 && (isHex(s[l-1]) || s[l-1] == ':') {
			l--
		}
		r := c
		for r < len(s) && (isHex(s[r]) || s[r] == ':' || s[r] == '.') {
			r++
		}
		for r > c && (s[r-1] == '.' || s[r-1] == ':' && !strings.HasSuffix(s[l:r], "::")) {
			r--
		}
		off = max(r, c+1)
		v := s[l:r]
		if len(v) < 6 || strings.Count(v, ":") < 3 && !strings.Contains(v, "::") || wordBefore(s, l) || wordAfter(s, r) {
			continue
		}
		if a, err := netip.ParseAddr(v); err == nil && a.Is6() && !allDigitsColons(v) {
			out = append(out, Finding{Type: TypeIP, ByteStart: l, ByteEnd: r, Score: 0.85, Detector: "ipv6"})
		}
	}
	return out
}

// allDigitsColons rejects "1:2:3:4:5:6:7:8"-like sequences made only of
// decimal digits, which are more often list numbering or timestamps.
func allDigitsColons(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) && v[i] != ':' {
			return false
		}
	}
	return len(v) < 16
}
