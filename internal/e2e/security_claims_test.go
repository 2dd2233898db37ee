package e2e_test

// Tests of claims docs/security.md makes and no other test pins down: who
// may set the client IP with X-Forwarded-For, what a failing guard answers,
// that upstream redirects are never followed, that provider credential
// failures keep the provider's text private, the warning for
// insecure_skip_verify, and the exact refusal of private_when.

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rampart-gw/rampart/internal/sim"
)

// secCounter is a loopback HTTP server that counts the requests it gets
// and answers them with handler, which gets the body unread.
type secCounter struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func newSecCounter(t *testing.T, tlsServer bool, handler http.HandlerFunc) *secCounter {
	t.Helper()
	c := &secCounter{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		handler(w, r)
	})
	if tlsServer {
		c.srv = httptest.NewTLSServer(h)
	} else {
		c.srv = httptest.NewServer(h)
	}
	t.Cleanup(c.srv.Close)
	return c
}

// secRunYAML runs a gateway on upstreams and routes given as YAML (for
// upstream settings the harness's upstreamSpec cannot express, such as
// tls), with the harness's listeners, data folder and test key.
func secRunYAML(t *testing.T, upstreams, routes, extra string) *env {
	t.Helper()
	y := fmt.Sprintf("listen: {addr: 127.0.0.1:0}\nadmin: {addr: 127.0.0.1:0}\ndata_dir: %s\n"+
		"auth: {api_keys: false, static_keys: [{name: test, team: qa, key: %s}]}\n"+
		"upstreams:\n%sroutes:\n%s%s", t.TempDir(), testKey, upstreams, routes, extra)
	e := &env{t: t, sims: map[string]*sim.Server{}, logs: &syncBuffer{}, yaml: y}
	return e.run(y, "")
}

// secCAFile writes the certificate of an httptest TLS server as a PEM CA
// file, for an upstream's tls.ca_file.
func secCAFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	return writePEM(t, t.TempDir(), "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

// TestXForwardedForOnlyFromTrustedProxies checks "X-Forwarded-For from
// clients is believed only from listen.trusted_proxies": a peer outside
// trusted_proxies (or with none configured) that sends X-Forwarded-For is
// taken at its own address, both in the record and in an authz rule on
// connection.client_ip, so that the header cannot pass an IP allowlist.
// The trusted case is the control that shows the header would be used.
func TestXForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	// Only the office network may call; everyone else falls to the default.
	const allowlist = "authz:\n  default: deny\n  rules:\n" +
		"    - {name: office-only, when: 'cidr(\"198.51.100.0/24\").containsIP(ip(connection.client_ip))', action: allow}\n"
	const spoofed = "198.51.100.7"
	tests := []struct {
		desc     string
		listen   string
		xff      string
		wantIP   string
		wantCode int
	}{
		{"no trusted proxies", "", spoofed, "127.0.0.1", http.StatusForbidden},
		{"peer outside trusted_proxies", "trusted_proxies: [10.0.0.0/8, 192.0.2.0/24, '::1/128']", spoofed, "127.0.0.1", http.StatusForbidden},
		{"peer outside trusted_proxies, header chain", "trusted_proxies: [10.0.0.0/8]", "10.1.2.3, " + spoofed, "127.0.0.1", http.StatusForbidden},
		// Control: the same header from a trusted peer is believed.
		{"peer in trusted_proxies", "trusted_proxies: [127.0.0.0/8]", spoofed, spoofed, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			e := startWith(t, startOpts{Listen: tt.listen}, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
				[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, allowlist)
			resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""), "X-Forwarded-For", tt.xff)
			if tt.wantCode == http.StatusForbidden {
				checkAPIError(t, resp, body, http.StatusForbidden, "permission_denied")
			} else if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantCode, body)
			}
			if got := e.record(resp.Header.Get("X-Request-Id")).ClientIP; got != tt.wantIP {
				t.Errorf("client_ip %v, want %s (X-Forwarded-For %q)", got, tt.wantIP, tt.xff)
			}
			// The upstream sees a request only when the allowlist let it through.
			if n, want := len(e.sims["sim"].Requests()), map[bool]int{true: 1, false: 0}[tt.wantCode == http.StatusOK]; n != want {
				t.Errorf("the upstream got %d requests, want %d", n, want)
			}
		})
	}
}

// TestExternalGuardFailure checks "A guard that errors gives 503
// (guard_unavailable); an external guard fails closed unless configured
// fail_mode: open" with a webhook guard on loopback that answers 500 or
// closes the connection: closed, the request never reaches the upstream and
// the client gets an OpenAI-style error; open, the request passes and the
// failure is recorded as a flag.
func TestExternalGuardFailure(t *testing.T) {
	t.Parallel()
	behaviours := map[string]http.HandlerFunc{
		"answers 500": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			http.Error(w, `{"error":"guard broke"}`, http.StatusInternalServerError)
		},
		"closes the connection": func(w http.ResponseWriter, _ *http.Request) {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
		},
	}
	for name, behave := range behaviours {
		for _, mode := range []string{"", "closed", "open"} {
			t.Run(name+"-fail_mode="+mode, func(t *testing.T) {
				t.Parallel()
				g := newSecCounter(t, false, behave)
				hook := "{name: hook, type: webhook, url: " + g.srv.URL + "/check, timeout: 5s"
				if mode != "" {
					hook += ", fail_mode: " + mode
				}
				hook += "}"
				e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
					[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}},
					"guards: {enabled: true, external: ["+hook+"]}\n")
				resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
				if g.hits.Load() == 0 {
					t.Fatal("the external guard was never called")
				}
				verdicts := strings.Join(e.record(resp.Header.Get("X-Request-Id")).Verdicts, " ")
				upstreamHits := len(e.sims["sim"].Requests())
				if mode == "open" {
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("fail_mode open: status %d, want 200: %s", resp.StatusCode, body)
					}
					if upstreamHits != 1 {
						t.Errorf("fail_mode open: the upstream got %d requests, want 1", upstreamHits)
					}
					if !strings.Contains(verdicts, "unavailable:flag") {
						t.Errorf("fail_mode open: verdicts %q, want the guard's failure flagged", verdicts)
					}
					return
				}
				// Closed (the default): never a pass.
				if upstreamHits != 0 {
					t.Errorf("fail_mode %q: the upstream got %d requests, want 0", mode, upstreamHits)
				}
				if !strings.Contains(verdicts, "unavailable:block") {
					t.Errorf("fail_mode %q: verdicts %q, want the guard's failure as a block", mode, verdicts)
				}
				// Nothing judged the request: the client is told the check
				// is unavailable, not that its content was refused.
				checkAPIError(t, resp, body, http.StatusServiceUnavailable, "guard_unavailable")
			})
		}
	}
}

// TestUpstreamRedirectNotFollowed checks "No redirects followed upstream
// ... a 3xx from an upstream becomes a 502": an upstream that answers
// 302 or 307 towards a second server gives the client a 502 OpenAI-style
// error, streaming or not, over plain HTTP and over TLS, and the second
// server receives nothing.
func TestUpstreamRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	for _, tlsUp := range []bool{false, true} {
		for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
			for _, stream := range []bool{false, true} {
				name := fmt.Sprintf("tls=%v-%d-stream=%v", tlsUp, status, stream)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					// Where the redirect points: it must never be called.
					target := newSecCounter(t, tlsUp, func(w http.ResponseWriter, r *http.Request) {
						sim.New(sim.Options{}).ServeHTTP(w, r)
					})
					up := newSecCounter(t, tlsUp, func(w http.ResponseWriter, r *http.Request) {
						_, _ = io.Copy(io.Discard, r.Body)
						w.Header().Set("Location", target.srv.URL+r.URL.Path)
						w.WriteHeader(status)
						fmt.Fprint(w, `{"error":{"message":"moved to SECRET-REDIRECT-TEXT"}}`)
					})
					tlsLine := ""
					if tlsUp {
						// Both servers share httptest's certificate.
						tlsLine = "    tls: {ca_file: " + secCAFile(t, up.srv) + "}\n"
					}
					e := secRunYAML(t,
						"  redirecting:\n    url: "+up.srv.URL+"/v1\n    flavor: deepseek\n"+tlsLine,
						"  - {name: r, models: [deepseek-chat], upstreams: [redirecting], reasoning: pass}\n", "")
					resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", stream, ""))
					checkAPIError(t, resp, body, http.StatusBadGateway, "upstream_error")
					if up.hits.Load() == 0 {
						t.Fatal("the redirecting upstream was never called")
					}
					if n := target.hits.Load(); n != 0 {
						t.Errorf("the redirect target got %d requests: the redirect was followed", n)
					}
					if strings.Contains(string(body), "SECRET-REDIRECT-TEXT") || strings.Contains(string(body), target.srv.URL) {
						t.Errorf("the answer relays the upstream's redirect: %s", body)
					}
					if loc := resp.Header.Get("Location"); loc != "" {
						t.Errorf("the answer carries Location %q", loc)
					}
				})
			}
		}
	}
}

// TestUpstreamAuthFailureHidden checks "Provider credential failures
// upstream become 502 upstream_auth_failed without the provider's
// message": an upstream answering 401 or 403 with a message naming the key
// gives the client 502 upstream_auth_failed, and none of the provider's
// text.
func TestUpstreamAuthFailureHidden(t *testing.T) {
	t.Parallel()
	const providerText = "Incorrect API key provided: sk-PROVIDER-SECRET-1234"
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d-stream=%v", status, stream), func(t *testing.T) {
				t.Parallel()
				up := newSecCounter(t, false, func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("X-Provider-Detail", providerText)
					w.WriteHeader(status)
					fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error","code":"invalid_api_key"}}`, providerText)
				})
				e := start(t, []upstreamSpec{{Name: "prov", URL: up.srv.URL + "/v1", APIKey: "sk-gateway-credential-0123456789"}},
					[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "prov"}}, "")
				resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", stream, ""))
				checkAPIError(t, resp, body, http.StatusBadGateway, "upstream_auth_failed")
				if up.hits.Load() == 0 {
					t.Fatal("the upstream was never called")
				}
				for _, leak := range []string{"PROVIDER-SECRET", "Incorrect API key", "invalid_api_key", "sk-gateway"} {
					if strings.Contains(string(body), leak) {
						t.Errorf("the answer carries the provider's text %q: %s", leak, body)
					}
					for k, vs := range resp.Header {
						if strings.Contains(strings.Join(vs, " "), leak) {
							t.Errorf("header %s carries the provider's text %q", k, leak)
						}
					}
				}
			})
		}
	}
}

// TestInsecureSkipVerifyWarns checks "insecure_skip_verify exists but logs
// a warning at every start": a gateway with an upstream that skips
// verification logs a warning naming it, and one whose upstream verifies
// against its CA logs none.
func TestInsecureSkipVerifyWarns(t *testing.T) {
	t.Parallel()
	const warning = "upstream TLS certificate verification is OFF"
	up := newSecCounter(t, true, func(w http.ResponseWriter, r *http.Request) {
		sim.New(sim.Options{}).ServeHTTP(w, r)
	})
	t.Run("skip", func(t *testing.T) {
		t.Parallel()
		e := secRunYAML(t,
			"  unverified:\n    url: "+up.srv.URL+"/v1\n    flavor: deepseek\n    tls: {insecure_skip_verify: true}\n"+
				"  verified:\n    url: "+up.srv.URL+"/v1\n    flavor: deepseek\n    tls: {ca_file: "+secCAFile(t, up.srv)+"}\n",
			"  - {name: r, models: [deepseek-chat], upstreams: [unverified, verified], reasoning: pass}\n", "")
		var warned []map[string]any
		for _, line := range strings.Split(e.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && strings.HasPrefix(fmt.Sprint(m["msg"]), warning) {
				warned = append(warned, m)
			}
		}
		if len(warned) != 1 {
			t.Fatalf("%d warnings %q, want 1; log:\n%s", len(warned), warning, e.logs.String())
		}
		if warned[0]["level"] != "WARN" || warned[0]["upstream"] != "unverified" {
			t.Errorf("warning %v, want level WARN naming upstream unverified", warned[0])
		}
		// The flag does what it says: the self-signed upstream is reached.
		resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("through the unverified upstream: status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("verify", func(t *testing.T) {
		t.Parallel()
		e := secRunYAML(t,
			"  verified:\n    url: "+up.srv.URL+"/v1\n    flavor: deepseek\n    tls: {ca_file: "+secCAFile(t, up.srv)+"}\n",
			"  - {name: r, models: [deepseek-chat], upstreams: [verified], reasoning: pass}\n", "")
		if strings.Contains(e.logs.String(), warning) {
			t.Errorf("warning logged without insecure_skip_verify:\n%s", e.logs.String())
		}
	})
}

// TestPrivateWhenRefusal checks the exact answer of "with no private
// upstream available the answer is 503" for a route's private_when: a
// matching request on a route whose upstreams are all public gets 503
// no_private_upstream, and the public upstream receives nothing; a request
// that does not match still goes to the public upstream (the control).
func TestPrivateWhenRefusal(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{
		{Name: "public-a", Sim: &sim.Options{}, Public: true},
		{Name: "public-b", Sim: &sim.Options{}, Public: true},
	}, []routeSpec{{
		Name: "r", Models: "deepseek-chat", Upstreams: "public-a, public-b",
		Extra: "    private_when: 'request.dlp.findings.size() > 0'\n",
	}}, "dlp: {enabled: true, request: {pii: log}}\n")
	resp, body := e.post("/v1/chat/completions",
		`{"model":"deepseek-chat","messages":[{"role":"user","content":"mail jane.doe@example.com about the order"}]}`)
	checkAPIError(t, resp, body, http.StatusServiceUnavailable, "no_private_upstream")
	for _, name := range []string{"public-a", "public-b"} {
		if n := len(e.sims[name].Requests()); n != 0 {
			t.Errorf("the public upstream %s got %d requests", name, n)
		}
	}
	if strings.Contains(string(body), "example.com") {
		t.Errorf("the refusal repeats the sensitive text: %s", body)
	}
	// Control: a request private_when does not match is served publicly.
	resp, body = e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("non-sensitive request: status %d: %s", resp.StatusCode, body)
	}
	if n := len(e.sims["public-a"].Requests()) + len(e.sims["public-b"].Requests()); n != 1 {
		t.Errorf("the public upstreams got %d requests, want 1", n)
	}
}

// TestPrivateWhenPrivateDown checks the same claim when the route has a
// private upstream that is down (refusing connections, or answering 503):
// a matching request never fails over to the public upstream, and the
// answer is the 503 the document promises.
func TestPrivateWhenPrivateDown(t *testing.T) {
	t.Parallel()
	down := newStatusUpstream(t, http.StatusServiceUnavailable, "")
	for _, c := range []struct{ desc, url string }{
		{"connection refused", deadURL(t)},
		{"answers 503", down.URL},
	} {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			e := start(t, []upstreamSpec{
				{Name: "private", URL: c.url},
				{Name: "public", Sim: &sim.Options{}, Public: true},
			}, []routeSpec{{
				Name: "r", Models: "deepseek-chat", Upstreams: "private, public",
				Extra: "    private_when: 'request.dlp.findings.size() > 0'\n",
			}}, "dlp: {enabled: true, request: {pii: log}}\n")
			resp, body := e.post("/v1/chat/completions",
				`{"model":"deepseek-chat","messages":[{"role":"user","content":"mail jane.doe@example.com about the order"}]}`)
			if n := len(e.sims["public"].Requests()); n != 0 {
				t.Fatalf("the public upstream got %d requests", n)
			}
			if resp.StatusCode < 500 {
				t.Fatalf("status %d, want a refusal: %s", resp.StatusCode, body)
			}
			// The private upstream down is answered as no private upstream
			// at all (TestPrivateWhenRefusal): 503 no_private_upstream.
			checkAPIError(t, resp, body, http.StatusServiceUnavailable, "no_private_upstream")
		})
	}
}
