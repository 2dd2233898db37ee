package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	collpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/rampart-gw/rampart/internal/sim"
)

// otlpCollector is a loopback OTLP/HTTP receiver of traces.
type otlpCollector struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	url   string
}

func newOTLPCollector(t *testing.T) *otlpCollector {
	c := &otlpCollector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req collpb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("collector: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				c.spans = append(c.spans, ss.Spans...)
			}
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&collpb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

// trace returns the spans of the trace whose request span has the
// request ID id.
func (c *otlpCollector) trace(id string) []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var tid []byte
	for _, s := range c.spans {
		for _, kv := range s.Attributes {
			if kv.Key == "rampart.request_id" && kv.Value.GetStringValue() == id {
				tid = s.TraceId
			}
		}
	}
	var out []*tracepb.Span
	for _, s := range c.spans {
		if tid != nil && bytes.Equal(s.TraceId, tid) {
			out = append(out, s)
		}
	}
	return out
}

func spanAttr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			if v, ok := kv.Value.Value.(*commonpb.AnyValue_IntValue); ok {
				return fmt.Sprint(v.IntValue)
			}
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

// TestTracesReachLoopbackCollector: with tracing on, a chat request through
// the gateway leaves a server span with the GenAI attributes, a child span
// per stage and an attempt span, at a loopback OTLP/HTTP collector.
func TestTracesReachLoopbackCollector(t *testing.T) {
	t.Parallel()
	col := newOTLPCollector(t)
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}},
		"dlp: {enabled: true}\ntelemetry: {traces: {enabled: true, endpoint: "+col.url+"}}\n")
	ids := map[bool]string{}
	for _, stream := range []bool{false, true} {
		resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", stream, ""))
		if resp.StatusCode != 200 {
			t.Fatalf("stream=%v: %d %s", stream, resp.StatusCode, body)
		}
		ids[stream] = resp.Header.Get("X-Request-Id")
	}
	// Shutdown exports what is queued.
	e.stop()
	for stream, id := range ids {
		spans := col.trace(id)
		byName := map[string]*tracepb.Span{}
		for _, s := range spans {
			byName[s.Name] = s
		}
		root := byName["POST /v1/chat/completions"]
		if root == nil {
			t.Fatalf("stream=%v: no request span in %d spans", stream, len(spans))
		}
		for k, want := range map[string]string{
			"gen_ai.operation.name": "chat", "gen_ai.request.model": "deepseek-chat", "gen_ai.system": "deepseek",
			"rampart.route": "r", "rampart.upstream": "sim", "rampart.principal.id": "static:test",
		} {
			if got := spanAttr(root, k); got != want {
				t.Errorf("stream=%v: %s = %q, want %q", stream, k, got, want)
			}
		}
		if spanAttr(root, "gen_ai.response.model") == "" || spanAttr(root, "gen_ai.usage.output_tokens") == "" ||
			spanAttr(root, "gen_ai.usage.output_tokens") == "0" {
			t.Errorf("stream=%v: the request span lacks the served model or the usage", stream)
		}
		for _, name := range []string{"auth", "dlp", "chat deepseek-chat", "relay"} {
			if byName[name] == nil {
				t.Errorf("stream=%v: no %q span", stream, name)
			}
		}
		if att := byName["chat deepseek-chat"]; att != nil && !bytes.Equal(att.ParentSpanId, root.SpanId) {
			t.Errorf("stream=%v: the attempt is not a child of the request", stream)
		}
	}
}

// webhook is a loopback alert receiver.
type webhook struct {
	mu     sync.Mutex
	bodies []map[string]any
	url    string
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook: %v", err)
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, m)
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// kinds counts the alerts by incident kind (json sink format).
func (h *webhook) kinds() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, b := range h.bodies {
		if inc, ok := b["incident"].(map[string]any); ok {
			out[fmt.Sprint(inc["kind"])]++
		} else if txt, ok := b["text"].(string); ok {
			out["slack:"+strings.Fields(txt)[2]]++
		}
	}
	return out
}

// TestAlertsOnePerIncident: a burst of blocked requests, a kill and a
// revival each reach a loopback webhook exactly once, in both formats,
// however often they repeat within the dedup window.
func TestAlertsOnePerIncident(t *testing.T) {
	t.Parallel()
	hook := newWebhook(t)
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat, deepseek-reasoner", Upstreams: "sim"}},
		"dlp: {enabled: true, request: {types: {CREDIT_CARD: block}}}\n"+
			"limits:\n  prices: {deepseek-reasoner: {input_cache_hit: 1000, input_cache_miss: 1000, output: 1000}}\n"+
			"  rules: [{name: budget, by: [key], match: {model: [deepseek-reasoner]}, window: day, cost: 0.05}]\n"+
			"alerts:\n  blocked_burst: 3\n  sinks:\n    - {name: generic, url: "+hook.url+"/generic}\n"+
			"    - {name: chat, url: "+hook.url+"/T000/secret-path, format: slack}\n")
	card := chatBody("deepseek-chat", false, "")
	card = strings.Replace(card, `"messages":[{"role":"user","content":"`, `"messages":[{"role":"user","content":"card 4111 1111 1111 1111 `, 1)
	for i := range 7 { // two bursts of three, and one more: one alert
		if resp, body := e.post("/v1/chat/completions", card); resp.StatusCode != 400 {
			t.Fatalf("blocked request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// Spend the budget, then hit it three times: one alert.
	refused := 0
	for i := 0; i < 30 && refused < 3; i++ {
		resp, body := e.post("/v1/chat/completions", chatBody("deepseek-reasoner", false, `,"max_tokens":8`))
		switch {
		case resp.StatusCode == 429 && strings.Contains(string(body), "insufficient_quota"):
			refused++
		case resp.StatusCode != 200:
			t.Fatalf("budget request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if refused != 3 {
		t.Fatal("30 requests never exhausted the budget")
	}
	for range 2 { // the same kill twice: one alert; its revival: one more
		if st, b := e.adminPost("/admin/v1/kill", `{"target":"sim","reason":"drill","actor":"alice"}`); st != 200 {
			t.Fatalf("kill: %d %s", st, b)
		}
	}
	if st, b := e.adminPost("/admin/v1/revive", `{"target":"sim","actor":"alice"}`); st != 200 {
		t.Fatalf("revive: %d %s", st, b)
	}
	want := map[string]int{"blocked_burst": 1, "budget_exhausted": 1, "kill_switch": 2,
		"slack:blocked_burst:": 1, "slack:budget_exhausted:": 1, "slack:kill_switch:": 2}
	waitFor(t, 5*time.Second, func() bool { return fmt.Sprint(hook.kinds()) == fmt.Sprint(want) })
	// Nothing more arrives: each incident was sent once.
	e.stop()
	if got := hook.kinds(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alerts = %v, want %v", got, want)
	}
	if m := e.logs.String(); strings.Contains(m, "secret-path") {
		t.Error("the log quotes a webhook URL")
	}
}

// auditContent is the captured content of one audit record, and its
// latency breakdown.
type auditContent struct {
	GatewayNS  int64 `json:"gateway_ns"`
	TTFTNS     int64 `json:"ttft_ns"`
	DurationNS int64 `json:"duration_ns"`
	Content    *struct {
		Prompt   string `json:"prompt"`
		Response string `json:"response"`
	} `json:"content"`
}

// TestCaptureStoresOnlyMaskedContent: with content capture on, the prompt
// and the answer of a request are in its audit record with the seeded email
// and card number masked; no file of the data folder and no log line holds
// them raw.
func TestCaptureStoresOnlyMaskedContent(t *testing.T) {
	t.Parallel()
	const email, card, answerEmail = "jane.capture.doe@example.org", "4111 1111 1111 1111", "bob.answer@example.net"
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}},
		"dlp: {enabled: true, request: {pii: mask}, response: {pii: log}}\naudit: {capture: {enabled: true}}\n")
	ids := map[bool]string{}
	for _, stream := range []bool{false, true} {
		body := `{"model":"deepseek-chat","stream":` + fmt.Sprint(stream) + `,"messages":[{"role":"user","content":"mail ` + email +
			` and charge ` + card + `"}],"x_sim":{"answer":"Write to ` + answerEmail + ` today."}}`
		resp, out := e.post("/v1/chat/completions", body)
		if resp.StatusCode != 200 {
			t.Fatalf("stream=%v: %d %s", stream, resp.StatusCode, out)
		}
		// response pii: log, so the client gets the answer unchanged.
		if !strings.Contains(string(out), answerEmail) && !stream {
			t.Fatalf("the answer lost its email: %s", out)
		}
		ids[stream] = resp.Header.Get("X-Request-Id")
	}
	for stream, id := range ids {
		var rec auditContent
		waitFor(t, 5*time.Second, func() bool {
			resp, err := http.Get(e.admin + "/admin/v1/audit?request_id=" + url.QueryEscape(id))
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var out struct{ Records []auditContent }
			if json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Records) != 1 {
				return false
			}
			rec = out.Records[0]
			return true
		})
		if rec.GatewayNS <= 0 || rec.TTFTNS < rec.GatewayNS || rec.DurationNS < rec.TTFTNS {
			t.Errorf("stream=%v: latency breakdown gateway %d, ttft %d, total %d ns is not ordered", stream, rec.GatewayNS, rec.TTFTNS, rec.DurationNS)
		}
		c := rec.Content
		if c == nil {
			t.Fatalf("stream=%v: no captured content", stream)
		}
		t.Logf("stream=%v: captured %+v", stream, *c)
		if !strings.Contains(c.Prompt, "user: mail ") || !strings.Contains(c.Prompt, "1111") || !strings.Contains(c.Response, "Write to ") {
			t.Errorf("stream=%v: captured content %+v is not the masked exchange", stream, *c)
		}
		for _, raw := range []string{email, card, "4111111111111111", answerEmail} {
			if strings.Contains(c.Prompt, raw) || strings.Contains(c.Response, raw) {
				t.Errorf("stream=%v: captured content holds %q raw: %+v", stream, raw, *c)
			}
		}
	}
	e.stop()
	scanForSecrets(t, e, email, card, answerEmail, testKey)
}

// scanForSecrets fails when a file of the data folder or the gateway's log
// holds one of secrets.
func scanForSecrets(t *testing.T, e *env, secrets ...string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.dataDir(), "*"))
	hits := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				hits++
				t.Errorf("%s holds %q", f, s)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(e.logs.String(), s) {
			hits++
			t.Errorf("the gateway's log holds %q", s)
		}
	}
	t.Logf("scanned %d files and the log for %d seeded values: %d hits", len(files), len(secrets), hits)
}
