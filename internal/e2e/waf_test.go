package e2e_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/rampart-gw/rampart/internal/sim"
)

// TestWAFStage runs the gateway with the WAF on: attacks in the HTTP
// envelope are refused with 403 before the upstream sees them, while
// prompts full of SQL, shell and HTML pass, since the default scope leaves
// message contents to the prompt guards and DLP.
func TestWAFStage(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{Echo: true}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "waf: {enabled: true}\n")
	s := e.sims["sim"]

	prompt := "What does `cat /etc/passwd; SELECT * FROM users WHERE id=1 OR 1=1 --` do, and is <script>alert(1)</script> dangerous?"
	resp, err := e.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "deepseek-chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	})
	if err != nil || !strings.Contains(resp.Choices[0].Message.Content, "/etc/passwd") {
		t.Fatalf("a prompt quoting attacks was refused: %v", err)
	}
	before := len(s.Requests())
	attacks := []struct {
		desc, path string
		hdr        []string
	}{
		{"SQL injection in the query", "/v1/chat/completions?id=1%27%20OR%20%271%27=%271%27%20UNION%20SELECT%20password%20FROM%20users--", nil},
		{"path traversal", "/v1/chat/completions?file=../../../../etc/passwd", nil},
		{"scanner user agent", "/v1/chat/completions", []string{"User-Agent", "sqlmap/1.7.2#stable (https://sqlmap.org)"}},
		{"shell injection in a header", "/v1/chat/completions", []string{"X-Debug", "() { :; }; /bin/bash -c 'cat /etc/passwd'"}},
	}
	for _, a := range attacks {
		r, body := e.post(a.path, chatBody("deepseek-chat", false, ""), a.hdr...)
		if r.StatusCode != 403 || !strings.Contains(string(body), `"code":"request_blocked"`) {
			t.Errorf("%s: status %d body %s", a.desc, r.StatusCode, body)
		}
		if id := r.Header.Get("X-Request-Id"); id == "" || !strings.Contains(string(body), id) {
			t.Errorf("%s: the error does not quote the request ID %q", a.desc, id)
		}
		if strings.Contains(string(body), "942") || strings.Contains(string(body), "930") {
			t.Errorf("%s: the error reveals a rule: %s", a.desc, body)
		}
	}
	if after := len(s.Requests()); after != before {
		t.Fatalf("blocked requests reached the upstream: %d", after-before)
	}
}

// TestWAFPerRoute turns the WAF off on one route and on another through
// the route's own setting, then reloads a file whose routes changed: the
// new settings apply at once and the compiled rules are reused, since the
// `waf:` section did not change.
func TestWAFPerRoute(t *testing.T) {
	t.Parallel()
	e := startWith(t, startOpts{ConfigFile: true}, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{
			{Name: "guarded", Models: "m-guarded", Upstreams: "{upstream: sim, model: deepseek-chat}"},
			{Name: "open", Models: "m-open", Upstreams: "{upstream: sim, model: deepseek-chat}", Extra: "    waf: {enabled: false}\n"},
			{Name: "full", Models: "m-full", Upstreams: "{upstream: sim, model: deepseek-chat}", Extra: "    waf: {inspect_body: full}\n"},
		}, "waf: {enabled: true}\n")
	attack := "/v1/chat/completions?id=1%27%20OR%20%271%27=%271%27%20UNION%20SELECT%20password%20FROM%20users--"
	prose := "explain: ' UNION SELECT password FROM users -- and <script>alert(document.cookie)</script>"
	expect := func(when, model, path, prompt string, want int) {
		t.Helper()
		body := chatBody(model, false, "")
		if prompt != "" {
			body = `{"model":"` + model + `","messages":[{"role":"user","content":"` + prompt + `"}]}`
		}
		if r, b := e.post(path, body); r.StatusCode != want {
			t.Errorf("%s: %s %s: status %d, want %d: %s", when, model, path, r.StatusCode, want, b)
		}
	}
	expect("start", "m-guarded", attack, "", 403)
	expect("start", "m-open", attack, "", 200)
	expect("start", "m-guarded", "/v1/chat/completions", prose, 200)
	expect("start", "m-full", "/v1/chat/completions", prose, 403)
	// The record reaches the metrics when the request ends, which may be
	// just after the client read the answer: poll.
	deadline := time.Now().Add(5 * time.Second)
	for m := e.metrics(); metric(m, "rampart_waf_interruptions_total", `action="block",family="942-sqli"`) < 2; m = e.metrics() {
		if time.Now().After(deadline) {
			t.Fatalf("SQL injection blocks not counted by family:\n%s", grepLines(m, "rampart_waf"))
		}
		time.Sleep(10 * time.Millisecond)
	}

	flipped := strings.Replace(e.yaml, "    waf: {enabled: false}\n", "    waf: {enabled: true, inspect_body: none}\n", 1)
	if err := os.WriteFile(e.configPath, []byte(flipped), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	expect("after reload", "m-open", attack, "", 403)
	if n := strings.Count(e.logs.String(), `"msg":"waf rules compiled"`); n != 1 {
		t.Errorf("rules compiled %d times, want once: a route change must reuse them", n)
	}
	changed := strings.Replace(flipped, "waf: {enabled: true}\n", "waf: {enabled: true, paranoia: 2}\n", 1)
	if err := os.WriteFile(e.configPath, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if n := strings.Count(e.logs.String(), `"msg":"waf rules compiled"`); n != 2 {
		t.Errorf("rules compiled %d times, want twice: a new paranoia level needs new rules", n)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
