// Package urlsafe describes URL problems without repeating the URL: a
// configured URL may hold a password (in its user information or its
// query), and url.Parse's errors quote the raw URL, or part of it, whole.
package urlsafe

import (
	"errors"
	"net/url"
	"strings"
)

// problems maps a fragment of a url.Parse error to fixed words.
var problems = []struct{ in, out string }{
	{"invalid port", "invalid port"},
	{"invalid userinfo", "invalid user information (a password with reserved characters must be percent-encoded)"},
	{"in host name", "invalid character in host name"},
	{"invalid IP-literal", "invalid IPv6 address"},
	{"missing ']'", "invalid IPv6 address"},
	{"invalid host", "invalid host"},
	{"empty url", "empty URL"},
	{"invalid URL escape", "invalid percent escape"},
	{"missing protocol scheme", "missing scheme"},
	{"control character", "control character in URL"},
	{"first path segment", "colon in first path segment (missing scheme?)"},
}

// ParseProblem names the problem of a url.Parse error in fixed words,
// "invalid URL: invalid port" for example, never quoting the URL or any
// part of it.
func ParseProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	for _, p := range problems {
		if strings.Contains(msg, p.in) {
			return "invalid URL: " + p.out
		}
	}
	return "invalid URL"
}
