package waf

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"testing"
)

// TestVerdictCache: a request whose inputs to the rules were all seen
// before gets the remembered verdict, the same as the rules give it, for
// a request that passes and one that is blocked; a change in any input
// the rules read (a header value, the query, a body where there was none)
// is inspected afresh; the length of a body is not such an input.
func TestVerdictCache(t *testing.T) {
	t.Parallel()
	// Copies of the shared compiled WAF: one with a cache of its own, one
	// without any.
	wc, pc := *mustDefault(t), *mustDefault(t)
	wc.verdicts, pc.verdicts = newVerdictCache(), nil
	w, plain := &wc, &pc
	ctx := context.Background()
	get := func(uri string, mod func(r *http.Request)) *http.Request {
		r := chatRequest(nil)
		r.Method, r.RequestURI = http.MethodGet, uri
		r.Header.Del("Content-Length")
		if mod != nil {
			mod(r)
		}
		return r
	}
	sqli := "/v1/models?id=1%27%20OR%20%271%27=%271%27%20UNION%20SELECT%20password%20FROM%20users--"
	// Two requests whose header fields are the same strings in the same
	// order: the scanner's User-Agent of the second is, in the first, two
	// more values of Cache-Control after an empty one.
	scanner := func(r *http.Request) {
		r.Header = http.Header{"Accept": {"application/json"}, "Cache-Control": {"no-cache"}, "User-Agent": {"sqlmap/1.4.7#stable (https://sqlmap.org)"}}
	}
	spelled := func(r *http.Request) {
		r.Header = http.Header{"Accept": {"application/json"}, "Cache-Control": {"no-cache", "", "User-Agent", "sqlmap/1.4.7#stable (https://sqlmap.org)"}}
	}
	body := chatBody(1 << 10)
	for _, c := range []struct {
		name  string
		first *http.Request
		again *http.Request
		hit   bool
		body  []byte
	}{
		{"benign, same request", get("/v1/models", nil), get("/v1/models", nil), true, nil},
		{"attack, same request", get(sqli, nil), get(sqli, nil), true, nil},
		{"another user agent", get("/v1/models?a=1", nil), get("/v1/models?a=1", func(r *http.Request) { r.Header.Set("User-Agent", "curl/8.0") }), false, nil},
		{"another query", get("/v1/models?b=1", nil), get("/v1/models?b=2", nil), false, nil},
		{"another client address", get("/v1/models?c=1", nil), get("/v1/models?c=1", func(r *http.Request) { r.RemoteAddr = "10.9.9.9:1" }), false, nil},
		{"same client, another port", get("/v1/models?d=1", nil), get("/v1/models?d=1", func(r *http.Request) { r.RemoteAddr = "10.1.2.3:60000" }), true, nil},
		{"a body where there was none", get("/v1/models?e=1", nil), get("/v1/models?e=1", func(r *http.Request) { r.ContentLength = 10; r.Header.Set("Content-Length", "10") }), false, nil},
		{"a header's values spell another header", get("/v1/models?f=1", spelled), get("/v1/models?f=1", scanner), false, nil},
		{"a zero length written 00", get("/v1/models?g=1", func(r *http.Request) { r.Header.Set("Content-Length", "0") }), get("/v1/models?g=1", func(r *http.Request) { r.Header.Set("Content-Length", "00") }), false, nil},
		{"chat, another length", chatRequest(body), func() *http.Request {
			r := chatRequest(body)
			r.Header.Set("Content-Length", fmt.Sprint(len(body)+7))
			return r
		}(), true, body},
	} {
		h0, m0 := w.verdicts.hits.Load(), w.verdicts.misses.Load()
		v1, err := w.InspectRouted(ctx, c.first, c.body, ScopeEnvelope, "deepseek-chat")
		if err != nil {
			t.Fatal(err)
		}
		v2, err := w.InspectRouted(ctx, c.again, c.body, ScopeEnvelope, "deepseek-chat")
		if err != nil {
			t.Fatal(err)
		}
		hits := w.verdicts.hits.Load() - h0
		if misses := w.verdicts.misses.Load() - m0; hits+misses != 2 {
			t.Fatalf("%s: %d lookups, want 2", c.name, hits+misses)
		}
		if (hits == 1) != c.hit {
			t.Errorf("%s: hit = %v, want %v", c.name, hits == 1, c.hit)
		}
		want, _ := plain.InspectRouted(ctx, c.again, c.body, ScopeEnvelope, "deepseek-chat")
		if !reflect.DeepEqual(v2, want) {
			t.Errorf("%s: verdict %+v, the rules give %+v", c.name, v2, want)
		}
		if c.name == "attack, same request" && (!v1.Blocked || !v2.Blocked) {
			t.Errorf("the attack passed: %+v %+v", v1, v2)
		}
	}
}

// TestVerdictCacheBounded: unique requests never grow the cache past its
// bound.
func TestVerdictCacheBounded(t *testing.T) {
	t.Parallel()
	c := newVerdictCache()
	r := chatRequest(nil)
	for i := range 3 * verdictShards * verdictShardSize {
		r.RequestURI = fmt.Sprintf("/v1/models?i=%d", i)
		k, ok := c.key(r, nil)
		if !ok {
			t.Fatal("a small request was not cacheable")
		}
		c.put(k, Verdict{})
	}
	if n := c.len(); n > verdictShards*verdictShardSize {
		t.Fatalf("%d verdicts kept, bound %d", n, verdictShards*verdictShardSize)
	}
	r.Header.Set("X-Big", string(make([]byte, verdictMaxKeyMaterial)))
	if _, ok := c.key(r, nil); ok {
		t.Error("a request with 8 KiB of headers was cached")
	}
}

// TestNoVerdictCacheWithOperatorRules: operator rule files may read what
// the key leaves out, so with them every request is inspected.
func TestNoVerdictCacheWithOperatorRules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := dir + "/custom.conf"
	if err := os.WriteFile(path, []byte(`SecRule REMOTE_PORT "@eq 1" "id:10001,phase:1,deny,status:403,log"`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := mustNew(t, Config{Enabled: true, RuleFiles: []string{path}})
	if w.verdicts != nil {
		t.Fatal("a WAF with operator rule files caches verdicts")
	}
	if mustDefault(t).verdicts == nil {
		t.Fatal("the default WAF has no verdict cache")
	}
}
