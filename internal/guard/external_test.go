package guard

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
)

// webhookServer answers every call with a fixed behaviour.
func webhookServer(t *testing.T, behave string) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req WebhookRequest
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		resp := WebhookResponse{Action: "pass"}
		switch behave {
		case "reject":
			resp = WebhookResponse{Action: "reject", Score: 0.97, Category: "policy"}
		case "mask":
			resp = WebhookResponse{Action: "mask", Score: 0.8}
			for _, m := range req.Messages {
				resp.Messages = append(resp.Messages, WebhookMessage{Role: m.Role, Text: strings.ReplaceAll(m.Text, "555-0100", "[PHONE]")})
			}
		case "slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		case "garbage":
			_, _ = io.WriteString(w, "{not json")
			return
		case "error":
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		b, _ := json.Marshal(resp)
		_, _ = w.Write(b)
	}))
	t.Cleanup(func() { close(release); s.Close() })
	return s
}

// downURL returns a loopback URL with nothing listening.
func downURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/guard"
}

func TestExternalWebhook(t *testing.T) {
	t.Parallel()
	msgs := []Message{{Role: "system", Text: "be nice"}, {Role: "user", Text: "call me at 555-0100"}}
	for _, c := range []struct {
		desc, behave, failMode string
		shadow                 bool
		down                   bool
		wantAction, wantRule   string
		wantMasked             string
	}{
		{desc: "pass", behave: "pass"},
		{desc: "reject blocks", behave: "reject", wantAction: ActionBlock, wantRule: "reject"},
		{desc: "reject in shadow", behave: "reject", shadow: true, wantAction: ActionShadow, wantRule: "reject"},
		{desc: "mask rewrites", behave: "mask", wantAction: ActionMask, wantRule: "mask", wantMasked: "call me at [PHONE]"},
		{desc: "slow fails closed", behave: "slow", wantAction: ActionBlock, wantRule: "unavailable"},
		{desc: "slow fails open", behave: "slow", failMode: "open", wantAction: ActionFlag, wantRule: "unavailable"},
		{desc: "down fails closed", down: true, wantAction: ActionBlock, wantRule: "unavailable"},
		{desc: "server error fails closed", behave: "error", wantAction: ActionBlock, wantRule: "unavailable"},
		{desc: "garbage fails closed", behave: "garbage", wantAction: ActionBlock, wantRule: "unavailable"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			url := downURL(t)
			if !c.down {
				url = webhookServer(t, c.behave).URL
			}
			g := mustNew(t, Config{External: []ExternalConfig{{
				Name: "hook", Type: "webhook", URL: url, Timeout: 200 * time.Millisecond, FailMode: c.failMode, Shadow: c.shadow,
			}}})
			start := time.Now()
			r, err := g.Inspect(context.Background(), msgs)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("call took %v despite a 200ms timeout", d)
			}
			var got Verdict
			for _, v := range r.Verdicts {
				if v.Guard == "external:hook" {
					got = v
				}
			}
			if got.Action != c.wantAction || got.Rule != c.wantRule {
				t.Errorf("verdict %+v, want action %q rule %q", got, c.wantAction, c.wantRule)
			}
			switch {
			case c.wantMasked == "" && r.Messages != nil:
				t.Errorf("messages rewritten: %+v", r.Messages)
			case c.wantMasked != "" && (len(r.Messages) != 2 || r.Messages[1].Text != c.wantMasked || r.Messages[0].Text != "be nice"):
				t.Errorf("masked messages %+v, want user text %q", r.Messages, c.wantMasked)
			}
		})
	}
}

func TestExternalModeration(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/moderations" || r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, "nope", http.StatusUnauthorized)
			return
		}
		var req struct {
			Input []string `json:"input"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		flagged := strings.Contains(strings.Join(req.Input, " "), "hurt")
		_, _ = io.WriteString(w, `{"id":"modr-1","model":"omni-moderation-latest","results":[{"flagged":`+map[bool]string{true: "true", false: "false"}[flagged]+
			`,"categories":{"violence":true},"category_scores":{"violence":0.91,"hate":0.02}}]}`)
	}))
	defer s.Close()
	g := mustNew(t, Config{External: []ExternalConfig{{Name: "mod", Type: "openai_moderation", URL: s.URL + "/v1/moderations", APIKey: "sk-test"}}})
	for _, c := range []struct {
		desc, text string
		want       bool
	}{{"flagged", "I want to hurt him", true}, {"clean", "I want to hug him", false}} {
		vs, err := g.CheckInput(context.Background(), []Message{{Role: "user", Text: c.text}})
		if err != nil {
			t.Fatal(err)
		}
		got := hasVerdict(vs, "external:mod", "reject")
		if got != c.want {
			t.Errorf("%s: reject = %v, want %v (%+v)", c.desc, got, c.want, vs)
		}
		if got && (vs[len(vs)-1].Category != "violence" || vs[len(vs)-1].Score != 0.91) {
			t.Errorf("%s: verdict %+v, want violence 0.91", c.desc, vs[len(vs)-1])
		}
	}
}

func TestExternalLlamaGuard(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model  string `json:"model"`
			Prompt string `json:"prompt"`
		}
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/completions" || json.Unmarshal(body, &req) != nil || req.Model != "llama-guard-3-8b" ||
			!strings.Contains(req.Prompt, "<BEGIN UNSAFE CONTENT CATEGORIES>") || !strings.Contains(req.Prompt, "S14: Code Interpreter Abuse.") {
			http.Error(w, "bad prompt", http.StatusBadRequest)
			return
		}
		out := "safe"
		if strings.Contains(req.Prompt, "User: build a bomb") {
			out = "unsafe\nS9"
		}
		_, _ = io.WriteString(w, `{"choices":[{"index":0,"text":"`+strings.ReplaceAll(out, "\n", `\n`)+`"}]}`)
	}))
	defer s.Close()
	g := mustNew(t, Config{
		Harmful:  HarmfulConfig{Action: ActionOff},
		External: []ExternalConfig{{Name: "lg", Type: "llama_guard", URL: s.URL + "/v1", Model: "llama-guard-3-8b"}},
	})
	vs, _ := g.CheckInput(context.Background(), []Message{{Role: "user", Text: "build a bomb"}})
	if !hasVerdict(vs, "external:lg", "reject") || vs[len(vs)-1].Category != "S9" {
		t.Errorf("unsafe not reported: %+v", vs)
	}
	vs, _ = g.CheckInput(context.Background(), []Message{{Role: "user", Text: "bake a cake"}})
	if hasVerdict(vs, "external:lg", "") {
		t.Errorf("safe reported: %+v", vs)
	}
}

func TestParseLlamaGuard(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		desc, in, action, cat string
		err                   bool
	}{
		{"safe", "safe", "pass", "", false},
		{"safe with space", "\n safe \n", "pass", "", false},
		{"unsafe one", "unsafe\nS1", "reject", "S1", false},
		{"unsafe many", "unsafe\nS10,S11", "reject", "S10", false},
		{"unsafe bare", "unsafe", "reject", "", false},
		{"garbage", "maybe?", "", "", true},
		{"empty", "", "", "", true},
	} {
		d, err := parseLlamaGuard(c.in)
		if (err != nil) != c.err || d.action != c.action || d.category != c.cat {
			t.Errorf("%s: got %+v, %v", c.desc, d, err)
		}
	}
}

func FuzzParseLlamaGuard(f *testing.F) {
	for _, s := range []string{"safe", "unsafe\nS1", "unsafe\nS1,S2\nextra", "", "\n\n", "unsafe\n,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseLlamaGuard(s)
		if err == nil && d.action != "pass" && d.action != "reject" {
			t.Fatalf("action %q", d.action)
		}
	})
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	s := webhookServer(t, "slow")
	g := mustNew(t, Config{External: []ExternalConfig{{Name: "hook", Type: "webhook", URL: s.URL, Timeout: 5 * time.Second}}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := g.Inspect(ctx, []Message{{Role: "user", Text: "hi"}}); err == nil {
		t.Fatal("Inspect returned no error after the context ended")
	}
}
