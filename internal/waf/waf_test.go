package waf

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const ua = "OpenAI/Python 1.99.0"

// rawGet is a GET request line and headers with the given target and
// extra header lines.
func rawGet(target string, headers ...string) string {
	h := "User-Agent: " + ua + "\r\n"
	for _, x := range headers {
		if strings.HasPrefix(x, "User-Agent:") {
			h = ""
			break
		}
	}
	return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n" + h +
		strings.Join(append(headers, ""), "\r\n") + "\r\n"
}

// rawPost is a chat completion POST with the given Content-Type and body.
func rawPost(contentType, body string) string {
	return "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n" +
		"User-Agent: " + ua + "\r\nContent-Type: " + contentType + "\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

const chatSQL = `{"model":"deepseek-chat","messages":[{"role":"user","content":"what does 1' OR '1'='1 -- do? and cat /etc/passwd?"}]}`

func TestInspectDefaultScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		raw      string
		blocked  bool
		wantRule int // a rule that must be among the matches
	}{
		{"plain chat passes", rawPost("application/json", `{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]}`), false, 0},
		{"SQL in message content passes", rawPost("application/json", chatSQL), false, 0},
		{"SQLi in the query string", rawGet("/v1/models?id=1%27%20OR%20%271%27%3D%271"), true, 942100},
		{"XSS in the query string", rawGet("/v1/models?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"), true, 941100},
		{"path traversal URI", rawGet("/v1/files/..%2f..%2f..%2fetc%2fpasswd"), true, 930100},
		{"known scanner User-Agent", rawGet("/v1/models", "User-Agent: sqlmap/1.7.2#stable (https://sqlmap.org)"), true, 913100},
		{"shell injection in a header", rawGet("/v1/models", "User-Agent: () { :; }; /bin/bash -c 'cat /etc/passwd'"), true, 932170},
		{"charset smuggling in Content-Type", rawPost("application/json;charset=utf-7", `{}`), true, 920480},
		{"two media types in Content-Type", rawPost("application/json, text/plain", `{}`), true, 920470},
		{"SQLi in an envelope field", rawPost("application/json", `{"model":"x' UNION SELECT password FROM users--","messages":[]}`), true, 942100},
		{"unparsable JSON body", rawPost("application/json", `{"model":"x","messages":[`), true, 200002},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			g := &gate{w: mustDefault(t)}
			s := serve(t, g)
			status := sendRaw(t, s, tc.raw)
			v := g.verdict()
			if got := status == http.StatusForbidden; got != tc.blocked || v.Blocked != tc.blocked {
				t.Fatalf("status %d, verdict %+v; want blocked=%v", status, v, tc.blocked)
			}
			if tc.wantRule != 0 && !slices.Contains(v.RuleIDs, tc.wantRule) {
				t.Errorf("rules %v lack %d", v.RuleIDs, tc.wantRule)
			}
			if tc.blocked && v.Rule == 0 {
				t.Errorf("blocked without an interrupting rule: %+v", v)
			}
		})
	}
}

func TestInspectScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		scope   string
		blocked bool
	}{
		{"envelope spares message contents", ScopeEnvelope, false},
		{"full inspects message contents", ScopeFull, true},
		{"none skips the body", ScopeNone, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			g := &gate{w: mustDefault(t), scope: tc.scope}
			s := serve(t, g)
			if status := sendRaw(t, s, rawPost("application/json", chatSQL)); (status == http.StatusForbidden) != tc.blocked {
				t.Fatalf("status %d, verdict %+v; want blocked=%v", status, g.verdict(), tc.blocked)
			}
		})
	}
}

func TestInspectDetectMode(t *testing.T) {
	t.Parallel()
	g := &gate{w: mustNew(t, Config{Enabled: true, Mode: ModeDetect})}
	s := serve(t, g)
	status := sendRaw(t, s, rawGet("/v1/models?id=1%27%20OR%20%271%27%3D%271"))
	v := g.verdict()
	if status != http.StatusOK || v.Blocked {
		t.Fatalf("detect mode blocked: status %d, %+v", status, v)
	}
	if v.Status != http.StatusForbidden || v.Rule != 949110 || v.Score < DefaultInboundThreshold {
		t.Errorf("verdict %+v does not report the would-be block", v)
	}
}

func TestInspectThreshold(t *testing.T) {
	t.Parallel()
	// One critical match scores 5: a threshold of 10 lets it through.
	g := &gate{w: mustNew(t, Config{Enabled: true, InboundThreshold: 10})}
	s := serve(t, g)
	if status := sendRaw(t, s, rawGet("/v1/models", "User-Agent: sqlmap/1.7")); status != http.StatusOK {
		t.Fatalf("status %d, verdict %+v; want 200 under threshold 10", status, g.verdict())
	}
	if v := g.verdict(); v.Score != 5 || !slices.Contains(v.RuleIDs, 913100) {
		t.Errorf("verdict %+v; want score 5 from 913100", v)
	}
}

func TestInspectExclusions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc      string
		exclusion string
	}{
		{"by ID", "913100"},
		{"by range", "913000-913999"},
		{"by tag", "tag:attack-reputation-scanner"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			g := &gate{w: mustNew(t, Config{Enabled: true, Exclusions: []string{tc.exclusion}})}
			s := serve(t, g)
			if status := sendRaw(t, s, rawGet("/v1/models", "User-Agent: sqlmap/1.7")); status != http.StatusOK {
				t.Fatalf("status %d, verdict %+v; want the scanner rule excluded", status, g.verdict())
			}
		})
	}
}

func TestInspectDisabled(t *testing.T) {
	t.Parallel()
	w := mustNew(t, Config{})
	r := httptest.NewRequest(http.MethodGet, "/v1/models?id=1%27%20OR%20%271%27%3D%271", nil)
	v, err := w.Inspect(context.Background(), r, nil)
	if err != nil || v.Blocked || len(v.RuleIDs) != 0 {
		t.Fatalf("disabled WAF: %+v, %v", v, err)
	}
	if w.Key() != "off" {
		t.Errorf("Key = %q, want off", w.Key())
	}
}

// TestInspectFailsClosed breaks the rule engine (no compiled rules) and
// checks the mode decides the verdict of the failure.
func TestInspectFailsClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		mode    string
		blocked bool
	}{
		{"block mode fails closed", ModeBlock, true},
		{"detect mode passes", ModeDetect, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			broken := &WAF{cfg: Config{Enabled: true, Mode: tc.mode}, log: slog.New(slog.DiscardHandler)}
			r := httptest.NewRequest(http.MethodGet, "/v1/models", nil)
			v, err := broken.Inspect(context.Background(), r, nil)
			if err == nil {
				t.Fatal("no error from a broken engine")
			}
			if v.Blocked != tc.blocked {
				t.Errorf("verdict %+v, want blocked=%v", v, tc.blocked)
			}
		})
	}
}

func TestInspectBodyLimit(t *testing.T) {
	t.Parallel()
	g := &gate{w: mustNew(t, Config{Enabled: true, InspectBody: ScopeFull, BodyLimit: 64})}
	s := serve(t, g)
	body := `{"model":"deepseek-chat","messages":[{"role":"user","content":"` + strings.Repeat("a", 100) + `"}]}`
	if status := sendRaw(t, s, rawPost("application/json", body)); status != http.StatusForbidden {
		t.Fatalf("status %d, verdict %+v; want a body over the limit refused", status, g.verdict())
	}
	if v := g.verdict(); v.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("verdict status %d, want 413", v.Status)
	}
}
