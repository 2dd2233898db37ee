package trace

import (
	"net/url"
	"testing"
)

// FuzzEndpointURL: an accepted endpoint is an absolute http(s) URL with a
// host and a path, and accepting it again changes nothing.
func FuzzEndpointURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:4318", "https://otel.example.com/", "https://h/custom/v1/traces",
		"http://[::1]:4318", "ftp://x", "", "http://", "http://h?x=1#f", "HTTP://H:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := EndpointURL(raw)
		if err != nil {
			return
		}
		u, perr := url.Parse(out)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path == "" {
			t.Fatalf("EndpointURL(%q) = %q, not an absolute URL with a path", raw, out)
		}
		again, err := EndpointURL(out)
		if err != nil || again != out {
			t.Fatalf("EndpointURL is not idempotent: %q -> %q -> %q (%v)", raw, out, again, err)
		}
	})
}
