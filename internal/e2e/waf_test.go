package e2e_test

import (
	"context"
	"strings"
	"testing"

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
