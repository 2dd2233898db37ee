package dlp

import (
	"strings"
	"unicode/utf8"
)

// maskValue hides most of a value but keeps what a reader needs to tell
// values apart: an email's first letters and top-level domain, the last
// four digits of a card, SSN or IBAN, the last two of a phone number, a
// secret's provider prefix.
func maskValue(typ, v string) string {
	switch typ {
	case TypeEmail:
		return maskEmail(v)
	case TypeCreditCard, TypeSSN:
		return keepEdges(v, 0, 4)
	case TypeIBAN:
		return keepEdges(v, 2, 4)
	case TypePhone:
		return keepEdges(v, 0, 2)
	case TypeIP:
		return maskIP(v)
	case TypeDateTime:
		return keepEdges(v, 0, 0)
	case TypePassword, TypeURLPassword, TypeKeywordSecret, TypeHighEntropy:
		// These have no provider prefix; any character shown is the secret's.
		return "****"
	}
	if IsSecretType(typ) {
		n := min(4, len(v)/4)
		for n > 0 && !utf8.RuneStart(v[n]) {
			n--
		}
		return v[:n] + "****"
	}
	_, n := utf8.DecodeRuneInString(v)
	return v[:n] + "***"
}

func maskEmail(v string) string {
	at := strings.LastIndexByte(v, '@')
	if at <= 0 {
		return "***"
	}
	local, domain := v[:at], v[at+1:]
	_, n := utf8.DecodeRuneInString(local)
	dot := strings.LastIndexByte(domain, '.')
	if dot <= 0 {
		return local[:n] + "***@***"
	}
	return local[:n] + "***@" + domain[:1] + "***" + domain[dot:]
}

// keepEdges replaces letters and digits with '*' except the first head and
// last tail ones, keeping separators so the format stays recognisable.
func keepEdges(v string, head, tail int) string {
	total := 0
	for i := 0; i < len(v); i++ {
		if isAlnum(v[i]) {
			total++
		}
	}
	b := []byte(v)
	k := 0
	for i, c := range b {
		if !isAlnum(c) {
			continue
		}
		if k >= head && k < total-tail {
			b[i] = '*'
		}
		k++
	}
	return string(b)
}

func maskIP(v string) string {
	if i := strings.IndexByte(v, '.'); i > 0 && !strings.Contains(v, ":") {
		return v[:i] + ".*.*.*"
	}
	if i := strings.IndexByte(v, ':'); i >= 0 {
		return v[:i] + ":****"
	}
	return "***"
}
