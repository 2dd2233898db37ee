package auth

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestCredential(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		desc       string
		auth, key  []string
		wantToken  string
		wantSource string
		wantErr    error
	}{
		{"bearer", []string{"Bearer abc"}, nil, "abc", sourceAuthorization, nil},
		{"mixed-case scheme", []string{"bEaReR abc"}, nil, "abc", sourceAuthorization, nil},
		{"tab and spaces", []string{"\tBearer  abc \t"}, nil, "abc", sourceAuthorization, nil},
		{"api-key", nil, []string{" abc "}, "abc", sourceAPIKey, nil},
		{"none", nil, nil, "", "", errNoCredential},
		{"basic", []string{"Basic YTpi"}, nil, "", sourceAuthorization, errWrongScheme},
		{"bearer without token", []string{"Bearer "}, nil, "", sourceAuthorization, errMalformed},
		{"empty api-key", nil, []string{""}, "", sourceAPIKey, errMalformed},
		{"two tokens", []string{"Bearer a b"}, nil, "", sourceAuthorization, errMalformed},
		{"non-ascii", []string{"Bearer ab\u00e9"}, nil, "", sourceAuthorization, errMalformed},
		{"two headers", []string{"Bearer a", "Bearer a"}, nil, "", "", errTwoCredentials},
		{"both kinds", []string{"Bearer a"}, []string{"a"}, "", "", errTwoCredentials},
		{"too long", []string{"Bearer " + strings.Repeat("a", MaxCredentialLen+1)}, nil, "", sourceAuthorization, errTooLong},
		{"at the limit", []string{"Bearer " + strings.Repeat("a", MaxCredentialLen)}, nil, strings.Repeat("a", MaxCredentialLen), sourceAuthorization, nil},
	} {
		h := http.Header{}
		if c.auth != nil {
			h["Authorization"] = c.auth
		}
		if c.key != nil {
			h["Api-Key"] = c.key
		}
		tok, src, err := credential(h)
		if tok != c.wantToken || src != c.wantSource || !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
			t.Errorf("%s: credential = %q, %q, %v; want %q, %q, %v", c.desc, tok, src, err, c.wantToken, c.wantSource, c.wantErr)
		}
	}
}

func FuzzCredential(f *testing.F) {
	for _, s := range [][2]string{
		{"Bearer rk-abcdefgh2345-aZ9aZ9aZ9aZ9aZ9aZ9aZ9aZ9aZ9aZ9aZ9aZ9aZ9aZ9x", ""},
		{"", "static-key"},
		{"bearer  x ", ""},
		{"Basic YTpi", ""},
		{"Bearer a, Bearer b", ""},
		{"Bearer", "x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authz, apiKey string) {
		h := http.Header{}
		if authz != "" {
			h.Set("Authorization", authz)
		}
		if apiKey != "" {
			h.Set("Api-Key", apiKey)
		}
		tok, _, err := credential(h)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error %v", tok, err)
			}
			return
		}
		if tok == "" || len(tok) > MaxCredentialLen || strings.ContainsAny(tok, " \t\r\n") {
			t.Fatalf("accepted token %q", tok)
		}
		if !strings.Contains(authz, tok) && !strings.Contains(apiKey, tok) {
			t.Fatalf("token %q is not from the headers", tok)
		}
	})
}
