package dlp

import (
	"encoding/base64"
	"strings"
)

func jwtChars(c byte) bool { return b64url(c) || c == '.' }

// checkJWT accepts a token of three (signed) or five (encrypted) base64url
// parts whose header decodes to JSON naming an algorithm.
func checkJWT(tok string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 && len(parts) != 5 || len(parts[1]) < 4 {
		return "", false
	}
	hdr, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	if err != nil {
		return "", false
	}
	return TypeJWT, strings.Contains(string(hdr), `"alg"`) || strings.Contains(string(hdr), `"typ"`)
}

// maxPEM bounds how far a private key block is followed; the largest RSA keys
// in PEM stay well under it.
const maxPEM = 16 << 10

// pemBody reports bytes that can appear in a PEM body, including the
// literal "\n" escapes of a key pasted from JSON and encryption headers.
func pemBody(c byte) bool {
	return b64std(c) || c == '=' || isSpace(c) || c == '\\' || c == ':' || c == ',' || c == '-'
}

// findPrivateKeys finds "-----BEGIN ... PRIVATE KEY-----" blocks. Without a
// matching END line the finding runs to the end of the key body, so that a
// truncated paste is still covered.
func findPrivateKeys(t *input, out []Finding) []Finding {
	s := t.s
	for off := 0; ; {
		i := indexFrom(s, "-----BEGIN ", off)
		if i < 0 {
			return out
		}
		off = i + 11
		j := indexFrom(s[:min(len(s), off+64)], "-----", off)
		if j < 0 || !strings.Contains(s[off:j], "PRIVATE KEY") {
			continue
		}
		end := pemEnd(s, j+5, s[off:j])
		out = append(out, Finding{Type: TypePrivateKey, ByteStart: i, ByteEnd: end, Score: 0.99, Detector: "pem"})
		off = end
	}
}

// pemEnd returns the end of the END line for label, or of the key body.
func pemEnd(s string, from int, label string) int {
	lim := min(len(s), from+maxPEM)
	if k := strings.Index(s[from:lim], "-----END "+label+"-----"); k >= 0 {
		return from + k + len("-----END "+label+"-----")
	}
	e := from
	// Stop before "-----END", and before a dash run at the very end that
	// may be its start, split off by a stream.
	for e < lim && pemBody(s[e]) && !strings.HasPrefix(s[e:], "-----END") && !strings.HasPrefix("-----END", s[e:]) {
		e++
	}
	for e > from && isSpace(s[e-1]) {
		e--
	}
	return e
}

// findURLPasswords finds the password of userinfo in URLs and connection
// strings ("postgres://app:s3cret@db/x"). Only the password is reported so
// that masking keeps the rest of the URL readable.
func findURLPasswords(t *input, out []Finding) []Finding {
	s := t.s
	for off := 0; ; {
		i := indexFrom(s, "://", off)
		if i < 0 {
			return out
		}
		off = i + 3
		lim := min(len(s), off+256)
		at, colon := -1, -1
		for j := off; j < lim; j++ {
			c := s[j]
			if c == '@' {
				at = j
			}
			if c == '/' || c == '?' || c == '#' || isSpace(c) || c == '"' || c == '\'' || c == '<' || c == '>' {
				break
			}
			if c == ':' && colon < 0 && at < 0 {
				colon = j
			}
		}
		if at < 0 || colon < 0 || colon+1 >= at || placeholderValue(s[colon+1:at]) {
			continue
		}
		out = append(out, Finding{Type: TypeURLPassword, ByteStart: colon + 1, ByteEnd: at, Score: 0.9, Detector: "url"})
		off = at
	}
}
