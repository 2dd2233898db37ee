package urlsafe

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseProblem(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"redis://:Secret-PW@127.0.0.1:notaport/0", "invalid URL: invalid port"},
		{"http://user:Secret/PW@host/x", "invalid URL: invalid port"},
		{"http://[::1/x", "invalid URL: invalid IPv6 address"},
		{"http://host/%zzSecret", "invalid URL: invalid percent escape"},
		{"://Secret", "invalid URL: missing scheme"},
		{"http://ho\x7fst/Secret", "invalid URL: control character in URL"},
	} {
		_, err := url.Parse(tc.raw)
		if err == nil {
			t.Fatalf("%q parsed", tc.raw)
		}
		got := ParseProblem(err)
		if got != tc.want || strings.Contains(got, "Secret") {
			t.Errorf("%q: %q, want %q", tc.raw, got, tc.want)
		}
	}
}
