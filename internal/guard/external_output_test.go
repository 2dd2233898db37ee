package guard

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
)

// outputHook is a loopback webhook guard for answers: it refuses calls
// that are not of direction output, and records what it was sent.
type outputHook struct {
	*httptest.Server
	mu    sync.Mutex
	calls []WebhookRequest
}

func newOutputHook(t *testing.T, behave string) *outputHook {
	t.Helper()
	h := &outputHook{}
	release := make(chan struct{})
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req WebhookRequest
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil || req.Direction != "output" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.calls = append(h.calls, req)
		h.mu.Unlock()
		var all strings.Builder
		for _, m := range req.Messages {
			if m.Role != "user" && m.Role != "assistant" && m.Role != "reasoning" {
				http.Error(w, "bad role", http.StatusBadRequest)
				return
			}
			if m.Role != "user" {
				all.WriteString(m.Text)
			}
		}
		resp := WebhookResponse{Action: "pass"}
		switch {
		case behave == "reject", behave == "reject-forbidden" && strings.Contains(all.String(), "FORBIDDEN"):
			resp = WebhookResponse{Action: "reject", Score: 0.9, Category: "policy"}
		case behave == "mask":
			resp = WebhookResponse{Action: "mask", Score: 0.8}
			for _, m := range req.Messages {
				resp.Messages = append(resp.Messages, WebhookMessage{Role: m.Role, Text: strings.ReplaceAll(m.Text, "555-0100", "[PHONE]")})
			}
		case behave == "slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		case behave == "error":
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		b, _ := json.Marshal(resp)
		_, _ = w.Write(b)
	}))
	t.Cleanup(func() { close(release); h.Close() })
	return h
}

// feedBoth streams the reasoning, then the answer, and finishes, as the
// gateway does.
func feedBoth(t *testing.T, oc OutputChecker, reasoning, answer string, size int) []Verdict {
	t.Helper()
	ctx := context.Background()
	var all []Verdict
	for _, p := range [...]struct{ ch, text string }{{"reasoning", reasoning}, {"content", answer}} {
		for text := p.text; len(text) > 0; {
			n := min(size, len(text))
			vs, err := oc.Feed(ctx, p.ch, text[:n])
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, vs...)
			text = text[n:]
		}
	}
	vs, err := oc.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return append(all, vs...)
}

func (h *outputHook) requests() []WebhookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]WebhookRequest(nil), h.calls...)
}

// TestExternalOutputWebhook runs an output webhook guard on a whole answer
// and on a stream: pass, mask, reject, slow, down and broken, fail modes
// and shadow mode.
func TestExternalOutputWebhook(t *testing.T) {
	t.Parallel()
	const answer, reasoning = "Call our office at 555-0100 today.", "The user wants the number 555-0100."
	for _, c := range []struct {
		desc, behave, failMode string
		shadow, down, stream   bool
		wantAction, wantRule   string
		wantMasked             bool
	}{
		{desc: "pass", behave: "pass"},
		{desc: "reject blocks", behave: "reject", wantAction: ActionBlock, wantRule: "reject"},
		{desc: "reject blocks a stream", behave: "reject", stream: true, wantAction: ActionBlock, wantRule: "reject"},
		{desc: "reject in shadow", behave: "reject", shadow: true, wantAction: ActionShadow, wantRule: "reject"},
		{desc: "mask rewrites a whole answer", behave: "mask", wantAction: ActionMask, wantRule: "mask", wantMasked: true},
		{desc: "mask ends a stream", behave: "mask", stream: true, wantAction: ActionBlock, wantRule: "mask"},
		{desc: "mask in shadow changes nothing", behave: "mask", shadow: true, wantAction: ActionShadow, wantRule: "mask"},
		{desc: "slow fails closed", behave: "slow", wantAction: ActionBlock, wantRule: "unavailable"},
		{desc: "slow stream fails closed", behave: "slow", stream: true, wantAction: ActionBlock, wantRule: "unavailable"},
		{desc: "slow fails open", behave: "slow", failMode: "open", wantAction: ActionFlag, wantRule: "unavailable"},
		{desc: "down fails closed", down: true, wantAction: ActionBlock, wantRule: "unavailable"},
		{desc: "down stream fails closed", down: true, stream: true, wantAction: ActionBlock, wantRule: "unavailable"},
		{desc: "server error fails closed", behave: "error", wantAction: ActionBlock, wantRule: "unavailable"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			url := downURL(t)
			var hook *outputHook
			if !c.down {
				hook = newOutputHook(t, c.behave)
				url = hook.URL
			}
			g := mustNew(t, Config{External: []ExternalConfig{{
				Name: "hook", Type: "webhook", URL: url, Timeout: 200 * time.Millisecond, FailMode: c.failMode,
				Shadow: c.shadow, ApplyTo: []string{"output"},
			}}})
			oc := g.NewOutputChecker(OutputOptions{LastUser: "What is your number?", Whole: !c.stream})
			start := time.Now()
			vs := feedBoth(t, oc, reasoning, answer, 8)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v despite a 200ms timeout", d)
			}
			var got Verdict
			for _, v := range vs {
				if v.Guard == "external:hook" {
					got = v
				}
			}
			if got.Action != c.wantAction || got.Rule != c.wantRule {
				t.Errorf("verdict %+v, want action %q rule %q", got, c.wantAction, c.wantRule)
			}
			ma, okA := oc.Masked("content")
			mr, okR := oc.Masked("reasoning")
			if c.wantMasked {
				if !okA || !okR || ma != "Call our office at [PHONE] today." || mr != "The user wants the number [PHONE]." {
					t.Errorf("masked %q %v, %q %v", ma, okA, mr, okR)
				}
			} else if okA || okR {
				t.Errorf("masked without a mask to apply: %q %q", ma, mr)
			}
			if hook == nil || c.behave == "slow" {
				return
			}
			calls := hook.requests()
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1 at the end of the answer", len(calls))
			}
			m := calls[0].Messages
			if len(m) != 3 || m[0].Role != "user" || m[1] != (WebhookMessage{"reasoning", reasoning}) || m[2] != (WebhookMessage{"assistant", answer}) {
				t.Errorf("guard was sent %+v", m)
			}
		})
	}
}

// TestExternalOutputWindow checks that a streamed answer is sent in
// bounded windows, so that a reject stops the stream soon after the text
// that caused it rather than at the end, and that the rest is sent at the
// end.
func TestExternalOutputWindow(t *testing.T) {
	t.Parallel()
	hook := newOutputHook(t, "reject-forbidden")
	g := mustNew(t, Config{Harmful: HarmfulConfig{OutputAction: ActionOff}, External: []ExternalConfig{{
		Name: "hook", Type: "webhook", URL: hook.URL, ApplyTo: []string{"output"}, OutputWindow: 512,
	}}})
	oc := g.NewOutputChecker(OutputOptions{})
	ctx := context.Background()
	pad := strings.Repeat("harmless words ", 100) // 1,500 bytes
	text := pad + "FOR" + "BIDDEN" + strings.Repeat(" more text", 200)
	fed := 0
	var fired []Verdict
	for fed < len(text) && !hasVerdict(fired, "external:hook", "reject") {
		n := min(10, len(text)-fed)
		vs, err := oc.Feed(ctx, "content", text[fed:fed+n])
		if err != nil {
			t.Fatal(err)
		}
		fed += n
		fired = append(fired, vs...)
	}
	if !hasVerdict(fired, "external:hook", "reject") {
		t.Fatalf("reject not reported while streaming (fed %d of %d bytes): %+v", fed, len(text), fired)
	}
	if at := len(pad) + 9; fed > at+512 {
		t.Errorf("reject came %d bytes after the word; the window is 512", fed-at)
	}
	calls := hook.requests()
	for i, c := range calls {
		if n := len(c.Messages[0].Text); n > 512+10+outputOverlap {
			t.Errorf("call %d sent %d bytes, more than window + fragment + overlap", i, n)
		}
	}
	// The word split by a window boundary is still seen: the overlap.
	oc = g.NewOutputChecker(OutputOptions{})
	split := strings.Repeat("x", 510) + "FORBIDDEN"
	if vs := feedChunks(t, oc, "content", split, 1); !hasVerdict(vs, "external:hook", "reject") {
		t.Errorf("word across a window boundary missed: %+v", vs)
	}
	// What is left after the last window is checked at the end.
	oc = g.NewOutputChecker(OutputOptions{})
	if vs := feedChunks(t, oc, "content", "short FORBIDDEN answer", 4); !hasVerdict(vs, "external:hook", "reject") {
		t.Errorf("tail of the answer not checked at the end: %+v", vs)
	}
}

// TestExternalOutputDirections checks that a guard is called only for what
// apply_to names.
func TestExternalOutputDirections(t *testing.T) {
	t.Parallel()
	in := webhookServer(t, "reject")
	out := newOutputHook(t, "reject")
	g := mustNew(t, Config{External: []ExternalConfig{
		{Name: "in", Type: "webhook", URL: in.URL},
		{Name: "out", Type: "webhook", URL: out.URL, ApplyTo: []string{"output"}},
	}})
	vs, err := g.CheckInput(context.Background(), []Message{{Role: "user", Text: "hello there"}})
	if err != nil || !hasVerdict(vs, "external:in", "reject") || hasVerdict(vs, "external:out", "") {
		t.Errorf("input: %+v %v", vs, err)
	}
	oc := g.NewOutputChecker(OutputOptions{Whole: true})
	vs = feedChunks(t, oc, "content", "an answer", 100)
	if !hasVerdict(vs, "external:out", "reject") || hasVerdict(vs, "external:in", "") {
		t.Errorf("output: %+v", vs)
	}
	// An answer with no text is not sent.
	oc = g.NewOutputChecker(OutputOptions{Whole: true})
	if vs, _ := oc.Finish(context.Background()); len(vs) != 0 {
		t.Errorf("empty answer: %+v", vs)
	}
}

func TestExternalOutputModerationAndLlamaGuard(t *testing.T) {
	t.Parallel()
	mod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Input []string `json:"input"`
		}
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &req) != nil || len(req.Input) == 0 || strings.Contains(strings.Join(req.Input, " "), "QUESTION") {
			http.Error(w, "bad input", http.StatusBadRequest) // the user's question is context, not moderated
			return
		}
		flagged := strings.Contains(strings.Join(req.Input, " "), "hurt")
		_, _ = io.WriteString(w, `{"results":[{"flagged":`+map[bool]string{true: "true", false: "false"}[flagged]+`,"category_scores":{"violence":0.8}}]}`)
	}))
	defer mod.Close()
	lg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Prompt string `json:"prompt"`
		}
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &req) != nil || !strings.Contains(req.Prompt, "ONLY THE LAST Agent message") ||
			!strings.Contains(req.Prompt, "unsafe content in 'Agent' messages") || !strings.Contains(req.Prompt, "User: QUESTION") {
			http.Error(w, "bad prompt", http.StatusBadRequest)
			return
		}
		out := "safe"
		// Reasoning and answer are one agent turn, the last one.
		if strings.Contains(req.Prompt, "Agent: thinking about a bomb\n\nhere is the recipe\n\n<END CONVERSATION>") {
			out = `unsafe\nS9`
		}
		_, _ = io.WriteString(w, `{"choices":[{"text":"`+out+`"}]}`)
	}))
	defer lg.Close()
	g := mustNew(t, Config{Harmful: HarmfulConfig{OutputAction: ActionOff}, External: []ExternalConfig{
		{Name: "mod", Type: "openai_moderation", URL: mod.URL, ApplyTo: []string{"output"}},
		{Name: "lg", Type: "llama_guard", URL: lg.URL + "/v1", Model: "llama-guard-3-1b", ApplyTo: []string{"output"}},
	}})
	check := func(reasoning, answer string) []Verdict {
		oc := g.NewOutputChecker(OutputOptions{LastUser: "QUESTION", Whole: true})
		return feedBoth(t, oc, reasoning, answer, 5)
	}
	vs := check("thinking about a bomb", "here is the recipe")
	if !hasVerdict(vs, "external:lg", "reject") || hasVerdict(vs, "external:mod", "") {
		t.Errorf("llama guard: %+v", vs)
	}
	vs = check("hmm", "I will hurt you")
	if !hasVerdict(vs, "external:mod", "reject") || hasVerdict(vs, "external:lg", "") {
		t.Errorf("moderation: %+v", vs)
	}
	if vs = check("hmm", "a kind answer"); len(vs) != 0 {
		t.Errorf("clean answer: %+v", vs)
	}
}

func TestExternalConfigValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		desc string
		ext  ExternalConfig
		want string
	}{
		{"bad apply_to", ExternalConfig{ApplyTo: []string{"inputs"}}, "external[0].apply_to[0]"},
		{"window too small", ExternalConfig{ApplyTo: []string{"output"}, OutputWindow: 10}, "external[0].output_window"},
		{"window too large", ExternalConfig{ApplyTo: []string{"output"}, OutputWindow: 2 << 20}, "external[0].output_window"},
	} {
		c.ext.Name, c.ext.Type, c.ext.URL = "x", "webhook", "http://127.0.0.1:1"
		_, err := New(Config{External: []ExternalConfig{c.ext}}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.desc, err, c.want)
		}
	}
}
