package proxy_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/auth"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/openai"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/route"
	"github.com/rampart-gw/rampart/internal/sim"
	"github.com/rampart-gw/rampart/internal/upstream"
)

type stageFunc func(ctx context.Context, c *proxy.Call) error

func (f stageFunc) Check(ctx context.Context, c *proxy.Call) error { return f(ctx, c) }

type sinkFunc func(*record.Record)

func (f sinkFunc) Record(r *record.Record) { f(r) }

// serveWith runs the request path with the given stages in front of a
// recording simulator in echo mode.
func serveWith(t *testing.T, pre, stages []proxy.Stage, sinks ...proxy.Sink) (*httptest.Server, *sim.Server) {
	t.Helper()
	s := sim.New(sim.Options{Echo: true})
	return serveUpstream(t, s, pre, stages, sinks...), s
}

// serveUpstream runs the request path in front of upstream.
func serveUpstream(t *testing.T, upstreamHandler http.Handler, pre, stages []proxy.Stage, sinks ...proxy.Sink) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(upstreamHandler)
	t.Cleanup(up.Close)
	yaml := "upstreams: {sim: {url: " + up.URL + "/v1, flavor: deepseek}}\n" +
		"routes: [{name: r, models: [deepseek-chat], upstreams: [sim]}]\n" +
		"auth: {api_keys: false, static_keys: [{name: t, key: " + benchKey + "}]}\n"
	cfg, err := config.Parse([]byte(yaml), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(config.FormatErrors(err))
	}
	log := slog.New(slog.DiscardHandler)
	c, _ := upstream.New("sim", cfg.Upstreams["sim"], log)
	table, _ := route.Build(cfg, map[string]*upstream.Client{"sim": c})
	authn, _ := auth.New(cfg.Auth, nil, log)
	ipr, _ := proxy.NewClientIPResolver(nil)
	h := proxy.New(&proxy.Snapshot{
		Routes: table, Auth: authn, ClientIP: ipr, Log: log,
		// A snapshot that asks not to keep texts: stages see them all the
		// same (TestStageSeesDecodedRequestAndEditsIt).
		Decode:    openai.Limits{MaxDepth: 64, SkipTexts: true},
		Limits:    proxy.Limits{MaxBodyBytes: 1 << 20, MaxInFlight: 100},
		PreStages: pre, Stages: stages, Sinks: sinks,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func postChat(t *testing.T, url, content string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions",
		strings.NewReader(`{"model":"deepseek-chat","messages":[{"role":"user","content":"`+content+`"}],"x_sim":{"reasoning_tokens":0}}`))
	req.Header.Set("Authorization", "Bearer "+benchKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStageRefusalNeverReachesUpstream(t *testing.T) {
	t.Parallel()
	for _, phase := range []string{"pre", "post"} {
		t.Run(phase, func(t *testing.T) {
			t.Parallel()
			refuse := stageFunc(func(_ context.Context, c *proxy.Call) error {
				c.Rec.AddVerdict(record.Verdict{Stage: "test", Rule: "T1", Action: "block"})
				return apierr.New(http.StatusForbidden, apierr.TypePermission, "blocked_by_test", "Refused by a test stage.")
			})
			var got atomic.Pointer[record.Record]
			sink := sinkFunc(func(r *record.Record) { got.Store(r) })
			var srv *httptest.Server
			var s *sim.Server
			if phase == "pre" {
				srv, s = serveWith(t, []proxy.Stage{refuse}, nil, sink)
			} else {
				srv, s = serveWith(t, nil, []proxy.Stage{refuse}, sink)
			}
			status, body := postChat(t, srv.URL, "hello")
			if status != 403 || !strings.Contains(body, `"code":"blocked_by_test"`) {
				t.Fatalf("status %d body %s", status, body)
			}
			if n := len(s.Requests()); n != 0 {
				t.Fatalf("the upstream received %d requests", n)
			}
			r := got.Load()
			if r == nil || r.Status != 403 || len(r.Verdicts()) != 1 || r.Verdicts()[0].Rule != "T1" {
				t.Fatalf("record = %+v", r)
			}
		})
	}
}

func TestStageSeesDecodedRequestAndEditsIt(t *testing.T) {
	t.Parallel()
	var finished atomic.Int64
	mask := stageFunc(func(_ context.Context, c *proxy.Call) error {
		if c.Req == nil || c.Route == nil || c.Req.Messages[0].Content != "my secret is 42" {
			return apierr.New(500, apierr.TypeServer, "bad_call", "the stage did not see the decoded request")
		}
		c.Edits.SetContent = map[int]string{0: "my secret is [MASKED]"}
		c.OnFinish(func(r *record.Record) { finished.Store(int64(r.Usage.TotalTokens)) })
		return nil
	})
	srv, s := serveWith(t, nil, []proxy.Stage{mask})
	status, body := postChat(t, srv.URL, "my secret is 42")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || strings.Contains(string(reqs[0].Body), "42") || !strings.Contains(string(reqs[0].Body), "[MASKED]") {
		t.Fatalf("the upstream saw %s", reqs[0].Body)
	}
	if finished.Load() <= 0 {
		t.Fatal("the finish hook did not see the usage")
	}
}

func TestStageErrorFailsClosed(t *testing.T) {
	t.Parallel()
	broken := stageFunc(func(context.Context, *proxy.Call) error { return io.ErrUnexpectedEOF })
	srv, s := serveWith(t, nil, []proxy.Stage{broken})
	status, body := postChat(t, srv.URL, "hello")
	if status != 500 || strings.Contains(body, "unexpected EOF") {
		t.Fatalf("status %d body %s", status, body)
	}
	if len(s.Requests()) != 0 {
		t.Fatal("a failing stage let the request through")
	}
}

// The record of a non-streaming answer, an error or the model list is
// complete before the client has the answer: the sinks run before the
// last write, which goes out under the write deadline. A client that has
// its answer can rely on the metrics and the record being there.
func TestRecordIsCompleteWhenTheAnswerArrives(t *testing.T) {
	t.Parallel()
	var recorded atomic.Int64
	sink := sinkFunc(func(*record.Record) {
		time.Sleep(30 * time.Millisecond) // a slow sink: the answer must wait for it
		recorded.Add(1)
	})
	srv, _ := serveWith(t, nil, nil, sink)
	for i, tc := range []struct {
		name, method, path, key string
		status                  int
	}{
		{"answer", "POST", "/v1/chat/completions", benchKey, 200},
		{"error", "POST", "/v1/chat/completions", "wrong-key-0123456789abcdef", 401},
		{"models", "GET", "/v1/models", benchKey, 200},
	} {
		var body io.Reader
		if tc.method == "POST" {
			body = strings.NewReader(`{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}],"x_sim":{"reasoning_tokens":0}}`)
		}
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, body)
		req.Header.Set("Authorization", "Bearer "+tc.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if n := recorded.Load(); n != int64(i+1) {
			t.Fatalf("%s: the client had its answer with %d of %d records done", tc.name, n, i+1)
		}
	}
}

// Each record names the model its own answer named: an answer without a
// model does not inherit the one before it (answers are parsed into
// reused chunks).
func TestRecordModelServedIsTheAnswers(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		model := `"model":"tenant-a-model",`
		if n.Add(1) > 1 {
			model = ""
		}
		_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion",`+model+`"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	})
	var mu sync.Mutex
	var served []string
	sink := sinkFunc(func(r *record.Record) {
		mu.Lock()
		served = append(served, r.ModelServed)
		mu.Unlock()
	})
	srv := serveUpstream(t, upstream, nil, nil, sink)
	for range 2 {
		if status, body := postChat(t, srv.URL, "hello"); status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	// The sink runs after the answer is sent: wait for both records.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := append([]string(nil), served...)
		mu.Unlock()
		if len(got) == 2 {
			if got[0] != "tenant-a-model" || got[1] != "" {
				t.Fatalf("models served %q, want the first answer's, then none", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("records: %q", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
