package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/accesslog"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/route"
	"github.com/rampart-gw/rampart/internal/sim"
)

const (
	mlKey     = "ml-key-0123456789abcdefghij"
	opsKey    = "ops-key-0123456789abcdefghij"
	guestKey  = "guest-key-0123456789abcdefghij"
	brokenKey = "broken-key-0123456789abcdefghij"
)

// authzRules lets the ml team do anything, the ops team chat without
// streams or tools from loopback only; everyone else falls to the default.
const authzRules = `authz:
  mode: first_match
  default: deny
  rules:
    - name: ops-from-loopback-only
      when: '!cidr("127.0.0.0/8").containsIP(ip(connection.client_ip)) && principal.team == "ops"'
      action: deny
    - name: tools-for-ml-only
      when: 'request.tools && principal.team != "ml"'
      action: deny
    - name: ops-no-stream
      when: 'principal.team == "ops" && request.stream'
      action: deny
    - name: ml-all
      when: 'principal.team == "ml"'
      action: allow
    - name: ops-chat
      when: 'principal.team == "ops" && request.model == "deepseek-chat"'
      action: allow
    - name: broken-allow
      when: 'principal.team == "broken" && ip(principal.name).family() == 4'
      action: allow
`

// syncBuffer is a bytes.Buffer safe for the gateway's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// authzGateway runs a gateway over loopback with four keys, two routes
// and extra (the authz section or nothing); it returns the client base URL
// and the log, access log included, as JSON lines.
func authzGateway(t *testing.T, extra string) (string, *syncBuffer) {
	t.Helper()
	up := httptest.NewServer(sim.New(sim.Options{}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	y := "listen: {addr: 127.0.0.1:0, trusted_proxies: [127.0.0.0/8]}\nadmin: {addr: 127.0.0.1:0}\ndata_dir: " + dir + "\n" +
		"auth:\n  api_keys: false\n  static_keys:\n" +
		"    - {name: ml, team: ml, key: " + mlKey + "}\n" +
		"    - {name: ops, team: ops, key: " + opsKey + "}\n" +
		"    - {name: guest, team: guest, key: " + guestKey + "}\n" +
		"    - {name: broken, team: broken, key: " + brokenKey + "}\n" +
		"upstreams: {sim: {url: " + up.URL + "/v1, flavor: deepseek}}\n" +
		"routes:\n  - {name: chat, models: [deepseek-chat], upstreams: [sim]}\n  - {name: reasoner, models: [deepseek-reasoner], upstreams: [sim]}\n" +
		extra
	cfg, err := config.Parse([]byte(y), filepath.Join(dir, "rampart.yaml"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(config.FormatErrors(err))
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	g, err := New(ctx, cfg, Options{Log: log, AccessLog: accesslog.New(log)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, 2*time.Second) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return "http://" + g.ClientAddr(), logs
}

// call sends a chat request and returns the status, the body and the
// request ID.
func call(t *testing.T, base, key, body string, hdr ...string) (int, []byte, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header.Get("X-Request-Id")
}

// accessVerdicts waits for the access-log line of request id and returns
// its verdicts.
func accessVerdicts(t *testing.T, logs *syncBuffer, id string) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(logs.String(), "\n") {
			var m struct {
				Msg       string   `json:"msg"`
				RequestID string   `json:"request_id"`
				Status    int      `json:"status"`
				Verdicts  []string `json:"verdicts"`
			}
			if json.Unmarshal([]byte(line), &m) == nil && m.RequestID == id && m.Status != 0 {
				return m.Verdicts
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access-log line for %s in:\n%s", id, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func chatJSON(model string, stream, tools bool) string {
	b := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]`
	if stream {
		b += `,"stream":true`
	}
	if tools {
		b += `,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`
	}
	return b + "}"
}

func TestAuthzRequests(t *testing.T) {
	t.Parallel()
	base, logs := authzGateway(t, authzRules)
	tests := []struct {
		desc    string
		key     string
		body    string
		hdr     []string
		allowed bool
		verdict string // the authz verdict in the record
	}{
		{"team allowed", mlKey, chatJSON("deepseek-reasoner", false, false), nil, true, "authz:ml-all:pass"},
		{"team allowed with tools and stream", mlKey, chatJSON("deepseek-chat", true, true), nil, true, "authz:ml-all:pass"},
		{"rule on the model", opsKey, chatJSON("deepseek-chat", false, false), nil, true, "authz:ops-chat:pass"},
		{"other model falls to the default", opsKey, chatJSON("deepseek-reasoner", false, false), nil, false, "authz:default:block"},
		{"rule on stream", opsKey, chatJSON("deepseek-chat", true, false), nil, false, "authz:ops-no-stream:block"},
		{"rule on tools", opsKey, chatJSON("deepseek-chat", false, true), nil, false, "authz:tools-for-ml-only:block"},
		{"rule on the client IP", opsKey, chatJSON("deepseek-chat", false, false),
			[]string{"X-Forwarded-For", "203.0.113.7"}, false, "authz:ops-from-loopback-only:block"},
		{"client IP inside the range", opsKey, chatJSON("deepseek-chat", false, false),
			[]string{"X-Forwarded-For", "127.0.0.9"}, true, "authz:ops-chat:pass"},
		{"team with no rule", guestKey, chatJSON("deepseek-chat", false, false), nil, false, "authz:default:block"},
		{"failing rule never allows", brokenKey, chatJSON("deepseek-chat", false, false), nil, false, "authz:default:block"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			status, body, id := call(t, base, tt.key, tt.body, tt.hdr...)
			if tt.allowed {
				if status != http.StatusOK {
					t.Fatalf("status %d, want 200: %s", status, body)
				}
			} else {
				if status != http.StatusForbidden {
					t.Fatalf("status %d, want 403: %s", status, body)
				}
				var e struct {
					Error struct{ Message, Type, Code string }
				}
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
				if e.Error.Type != "permission_error" || e.Error.Code != "permission_denied" || !strings.Contains(e.Error.Message, id) {
					t.Errorf("error %+v", e.Error)
				}
				// The client learns neither the rule nor what it says.
				for _, leak := range []string{"ops-", "tools-for", "default", "principal", "team", "cidr"} {
					if strings.Contains(string(body), leak) {
						t.Errorf("the body names %q: %s", leak, body)
					}
				}
			}
			if vs := accessVerdicts(t, logs, id); !slices.Contains(vs, tt.verdict) {
				t.Errorf("verdicts %v, want %s", vs, tt.verdict)
			}
		})
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"authorization rule failed; counted as not allowing"`) || !strings.Contains(out, `"rule":"broken-allow"`) {
		t.Error("the failing rule was not logged")
	}
	if !strings.Contains(out, `"msg":"request denied by authorization"`) || !strings.Contains(out, `"rule":"ops-no-stream"`) {
		t.Error("a denial was not logged with its rule")
	}
}

// listModels returns the ids GET /v1/models lists for key.
func listModels(t *testing.T, base, key string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Data []struct{ ID string } }
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, m := range out.Data {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestAuthzModelsListing(t *testing.T) {
	t.Parallel()
	base, _ := authzGateway(t, authzRules)
	for _, tt := range []struct {
		key  string
		want []string
	}{
		{mlKey, []string{"deepseek-chat", "deepseek-reasoner"}},
		{opsKey, []string{"deepseek-chat"}},
		{guestKey, []string{}},
		{brokenKey, []string{}},
	} {
		if got := listModels(t, base, tt.key); !slices.Equal(got, tt.want) {
			t.Errorf("%s lists %v, want %v", tt.key[:4], got, tt.want)
		}
	}
}

// TestAuthzAbsentAllowsAsBefore checks that without the section every
// authenticated caller keeps its models, and that an empty section denies.
func TestAuthzAbsentAllowsAsBefore(t *testing.T) {
	t.Parallel()
	base, logs := authzGateway(t, "")
	status, body, id := call(t, base, guestKey, chatJSON("deepseek-reasoner", true, true))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if got := listModels(t, base, guestKey); len(got) != 2 {
		t.Errorf("models %v", got)
	}
	for _, v := range accessVerdicts(t, logs, id) {
		if strings.HasPrefix(v, "authz:") {
			t.Errorf("verdict %s without the section", v)
		}
	}

	base, _ = authzGateway(t, "authz: {}\n")
	if status, body, _ := call(t, base, mlKey, chatJSON("deepseek-chat", false, false)); status != http.StatusForbidden {
		t.Errorf("empty section: status %d: %s", status, body)
	}
	if got := listModels(t, base, mlKey); len(got) != 0 {
		t.Errorf("empty section lists %v", got)
	}
}

// BenchmarkAuthzStage: four typical rules in first_match mode, the
// request allowed by the last one (every rule evaluated), over a principal
// with scopes and a plain connection.
func BenchmarkAuthzStage(b *testing.B) {
	s, err := newAuthzStage(&config.Authz{Mode: "first_match", Default: "deny", Rules: []config.AuthzRule{
		{Name: "office-only", When: `!cidr("10.0.0.0/8").containsIP(ip(connection.client_ip))`, Action: "deny"},
		{Name: "no-tools", When: `request.tools && principal.team != "ml"`, Action: "deny"},
		{Name: "big-answers", When: `request.max_tokens > 8192 && !("long" in principal.scopes)`, Action: "deny"},
		{Name: "team-models", When: `principal.team in ["ml", "support"] && request.model.startsWith("deepseek-")`, Action: "allow"},
	}}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	req, err := openai.Decode(openai.Chat, []byte(chatJSON("deepseek-chat", true, false)), openai.Limits{MaxDepth: 64})
	if err != nil {
		b.Fatal(err)
	}
	hr := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	rt := &route.Route{Name: "chat"}
	p := record.Principal{Kind: "api_key", ID: "k1", Name: "svc", Team: "support", Scopes: []string{"chat", "long"}}
	rec := &record.Record{}
	c := &proxy.Call{HTTP: hr, Req: req, Route: rt, Rec: rec}
	b.ReportAllocs()
	for b.Loop() {
		*rec = record.Record{ID: "r1", Endpoint: "chat", ClientIP: "10.1.2.3", Principal: p}
		if err := s.Check(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}
