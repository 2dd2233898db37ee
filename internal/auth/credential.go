package auth

import (
	"errors"
	"net/http"
	"strings"
)

// MaxCredentialLen bounds a credential. Rampart keys are 59 bytes and
// static keys are configured secrets; anything much longer is refused before
// it is hashed or compared.
const MaxCredentialLen = 1024

// Reasons a request carries no usable credential. They reach the log only.
var (
	errNoCredential   = errors.New("no credential")
	errTwoCredentials = errors.New("more than one credential")
	errWrongScheme    = errors.New("authorization scheme is not Bearer")
	errMalformed      = errors.New("malformed credential")
	errTooLong        = errors.New("credential too long")
)

// Where a credential was found, for the log.
const (
	sourceAuthorization = "authorization"
	sourceAPIKey        = "api-key"
)

// credential extracts the one credential of a request: from
// "Authorization: Bearer <token>" (scheme case-insensitive) or from the
// "api-key" header that Azure OpenAI clients send. Two credentials, whether
// two headers of one kind or one of each, are refused: which one a
// downstream component would believe is ambiguous.
func credential(h http.Header) (token, source string, err error) {
	auths, keys := h["Authorization"], h["Api-Key"]
	switch n := len(auths) + len(keys); {
	case n == 0:
		return "", "", errNoCredential
	case n > 1:
		return "", "", errTwoCredentials
	case len(keys) == 1:
		token, err = checkToken(trimSpace(keys[0]))
		return token, sourceAPIKey, err
	}
	token, err = bearer(auths[0])
	return token, sourceAuthorization, err
}

// bearer parses the value of an Authorization header.
func bearer(v string) (string, error) {
	if len(v) > MaxCredentialLen+16 {
		return "", errTooLong
	}
	v = trimSpace(v)
	scheme, rest, ok := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", errWrongScheme
	}
	if !ok {
		return "", errMalformed
	}
	return checkToken(trimSpace(rest))
}

// checkToken accepts a non-empty run of visible ASCII characters, which
// covers every key format in use; spaces (as in a folded list of two
// credentials) and control characters make it malformed.
func checkToken(t string) (string, error) {
	if len(t) > MaxCredentialLen {
		return "", errTooLong
	}
	if t == "" {
		return "", errMalformed
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c >= 0x7f {
			return "", errMalformed
		}
	}
	return t, nil
}

// trimSpace removes spaces and tabs around a header value.
func trimSpace(s string) string {
	return strings.Trim(s, " \t")
}
