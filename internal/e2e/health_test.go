package e2e_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/sim"
)

// probedUpstream is a simulator behind a switch: its health check path
// (GET /v1/models) answers 503 while checkFails is set, and chat requests
// answer 500 while chatFails is set. It counts both.
type probedUpstream struct {
	srv        *httptest.Server
	checkFails atomic.Bool
	chatFails  atomic.Bool
	checks     atomic.Int64
	chats      atomic.Int64
}

func newProbedUpstream(t *testing.T) *probedUpstream {
	t.Helper()
	s := sim.New(sim.Options{})
	p := &probedUpstream{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			p.checks.Add(1)
			if p.checkFails.Load() {
				http.Error(w, `{"error":{"message":"warming up"}}`, http.StatusServiceUnavailable)
				return
			}
		case "/v1/chat/completions":
			p.chats.Add(1)
			if p.chatFails.Load() {
				http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusInternalServerError)
				return
			}
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// fastCheck is an active check quick enough for a test.
var fastCheck = config.HealthCheck{Enabled: true, Path: "/models", Method: http.MethodGet,
	Interval: 100 * time.Millisecond, Timeout: time.Second, HealthyThreshold: 2, UnhealthyThreshold: 2}

// upstreamState is one entry of GET /admin/v1/upstreams.
type upstreamState struct {
	Name   string `json:"name"`
	Health *struct {
		State          string     `json:"state"`
		Reason         string     `json:"reason"`
		HealthCheck    bool       `json:"health_check"`
		LastCheckError string     `json:"last_check_error"`
		Checks         uint64     `json:"checks"`
		ChecksFailed   uint64     `json:"checks_failed"`
		Outlier        bool       `json:"outlier_detection"`
		EjectedUntil   *time.Time `json:"ejected_until"`
		Ejections      uint64     `json:"ejections"`
	} `json:"health"`
}

// upstreamStates reads GET /admin/v1/upstreams, by upstream name.
func (e *env) upstreamStates() map[string]upstreamState {
	e.t.Helper()
	resp, err := http.Get(e.admin + "/admin/v1/upstreams")
	if err != nil {
		e.t.Fatalf("admin upstreams: %v", err)
	}
	defer resp.Body.Close()
	var v struct {
		Upstreams []upstreamState `json:"upstreams"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		e.t.Fatalf("admin upstreams: %v", err)
	}
	out := map[string]upstreamState{}
	for _, u := range v.Upstreams {
		if u.Health == nil {
			e.t.Fatalf("upstream %s has no health in the admin API", u.Name)
		}
		out[u.Name] = u
	}
	return out
}

// healthState is the state the admin API shows for an upstream.
func (e *env) healthState(name string) string {
	return e.upstreamStates()[name].Health.State
}

// applyHealth sets health settings through a reload (the harness has no
// knobs for them).
func (e *env) applyHealth(set func(ups map[string]*config.Upstream)) {
	e.t.Helper()
	cfg := e.gw.Config().Clone()
	set(cfg.Upstreams)
	if err := e.gw.Apply(cfg); err != nil {
		e.t.Fatal(err)
	}
}

// TestHealthCheckSkipsUnhealthyUpstream: an upstream that fails its active
// check gets no traffic once the threshold is reached (the route's next
// upstream serves without an attempt on it), and gets traffic again once
// it passes its checks.
func TestHealthCheckSkipsUnhealthyUpstream(t *testing.T) {
	t.Parallel()
	a, b := newProbedUpstream(t), newProbedUpstream(t)
	e := start(t, []upstreamSpec{{Name: "a", URL: a.srv.URL + "/v1"}, {Name: "b", URL: b.srv.URL + "/v1"}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "a, b"}}, "")
	e.applyHealth(func(ups map[string]*config.Upstream) { ups["a"].HealthCheck = fastCheck })
	waitFor(t, 5*time.Second, func() bool { return e.upstreamStates()["a"].Health.Checks >= 2 })
	if resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, "")); resp.StatusCode != 200 || a.chats.Load() != 1 {
		t.Fatalf("healthy: %d %s; a served %d", resp.StatusCode, body, a.chats.Load())
	}

	a.checkFails.Store(true)
	waitFor(t, 5*time.Second, func() bool { return e.healthState("a") == "unhealthy" })
	st := e.upstreamStates()["a"].Health
	if !st.HealthCheck || st.ChecksFailed < 2 || st.LastCheckError != "status 503" || !strings.Contains(st.Reason, "failed health checks") {
		t.Fatalf("admin state of the unhealthy upstream: %+v", *st)
	}
	if m := e.metrics(); !strings.Contains(m, `rampart_upstream_healthy{upstream="a"} 0`) ||
		!strings.Contains(m, `rampart_upstream_healthy{upstream="b"} 1`) {
		t.Fatalf("health gauges:\n%s", grepLines(m, "rampart_upstream_healthy"))
	}
	// A reload that keeps the upstream and its check keeps its state.
	e.applyHealth(func(ups map[string]*config.Upstream) { ups["b"].MaxIdleConns++ })
	if st := e.upstreamStates()["a"].Health; st.State != "unhealthy" || st.ChecksFailed < 2 {
		t.Fatalf("after a reload: %+v", *st)
	}
	aBefore, bBefore := a.chats.Load(), b.chats.Load()
	for i := 0; i < 5; i++ {
		if resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, "")); resp.StatusCode != 200 {
			t.Fatalf("request %d while a is unhealthy: %d %s", i, resp.StatusCode, body)
		}
	}
	if n := a.chats.Load() - aBefore; n != 0 {
		t.Fatalf("the unhealthy upstream got %d requests", n)
	}
	if n := b.chats.Load() - bBefore; n != 5 {
		t.Fatalf("the healthy upstream served %d of 5 requests", n)
	}

	a.checkFails.Store(false)
	waitFor(t, 5*time.Second, func() bool { return e.healthState("a") == "healthy" })
	aBefore = a.chats.Load()
	if resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, "")); resp.StatusCode != 200 || a.chats.Load() != aBefore+1 {
		t.Fatalf("after recovery: %d %s; a served %d new", resp.StatusCode, body, a.chats.Load()-aBefore)
	}
}

// TestOutlierDetectionEjects: an upstream whose real answers are 5xx is
// ejected after consecutive_failures, skipped while ejected, and tried
// again once base_ejection_time has passed.
func TestOutlierDetectionEjects(t *testing.T) {
	t.Parallel()
	a, b := newProbedUpstream(t), newProbedUpstream(t)
	e := start(t, []upstreamSpec{{Name: "a", URL: a.srv.URL + "/v1"}, {Name: "b", URL: b.srv.URL + "/v1"}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "a, b"}}, "")
	const base = 600 * time.Millisecond
	e.applyHealth(func(ups map[string]*config.Upstream) {
		ups["a"].OutlierDetection = config.OutlierDetection{Enabled: true, ConsecutiveFailures: 3,
			BaseEjectionTime: base, MaxEjectionTime: 10 * base}
	})
	a.chatFails.Store(true)
	for i := 0; i < 3; i++ {
		// Each fails on a, then b answers.
		if resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, "")); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if n := a.chats.Load(); n != 3 {
		t.Fatalf("a was tried %d times, want 3", n)
	}
	st := e.upstreamStates()["a"].Health
	if !st.Outlier || st.State != "ejected" || st.Ejections != 1 || st.EjectedUntil == nil {
		t.Fatalf("after 3 failures: %+v", *st)
	}
	until := *st.EjectedUntil
	if m := e.metrics(); !strings.Contains(m, `rampart_upstream_ejections_total{upstream="a"} 1`) {
		t.Fatalf("ejection counter:\n%s", grepLines(m, "rampart_upstream_ejections_total"))
	}
	// While ejected, requests go straight to b.
	skipped := 0
	for i := 0; i < 3; i++ {
		before := a.chats.Load()
		resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
		if resp.StatusCode != 200 {
			t.Fatalf("request while ejected: %d %s", resp.StatusCode, body)
		}
		if time.Now().Before(until) {
			if a.chats.Load() != before {
				t.Fatal("the ejected upstream got a request before its ejection ended")
			}
			skipped++
		}
	}
	if skipped == 0 {
		t.Fatalf("the ejection (%v) ended before any request could check it", base)
	}
	a.chatFails.Store(false)
	var back time.Time
	waitFor(t, 5*time.Second, func() bool {
		before := a.chats.Load()
		if resp, _ := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, "")); resp.StatusCode != 200 {
			return false
		}
		back = time.Now()
		return a.chats.Load() > before
	})
	if back.Before(until) {
		t.Fatalf("a got traffic at %v, before its ejection ended at %v", back, until)
	}
	if s := e.healthState("a"); s != "healthy" {
		t.Fatalf("after the ejection: %s", s)
	}
}

// TestAllUpstreamsUnhealthy: with every upstream of the route failing its
// check, the answer is a fast 503 with Retry-After and an OpenAI-style
// body, and no upstream is called; a request that must stay private never
// spills to a healthy public upstream.
func TestAllUpstreamsUnhealthy(t *testing.T) {
	t.Parallel()
	priv, pub := newProbedUpstream(t), newProbedUpstream(t)
	e := start(t, []upstreamSpec{
		{Name: "priv", URL: priv.srv.URL + "/v1"},
		{Name: "pub", URL: pub.srv.URL + "/v1", Public: true},
	}, []routeSpec{
		{Name: "only", Models: "deepseek-chat", Upstreams: "priv"},
		{Name: "mixed", Models: "deepseek-reasoner", Upstreams: "priv, pub",
			Extra: "    private_when: '\"x-private\" in headers && headers[\"x-private\"] == \"1\"'\n"},
	}, "")
	priv.checkFails.Store(true)
	e.applyHealth(func(ups map[string]*config.Upstream) { ups["priv"].HealthCheck = fastCheck })
	waitFor(t, 5*time.Second, func() bool { return e.healthState("priv") == "unhealthy" })
	before := priv.chats.Load()
	for _, stream := range []bool{false, true} {
		resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", stream, ""))
		var v struct {
			Error struct {
				Message, Type, Code string
			}
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("stream=%v: body %q: %v", stream, body, err)
		}
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || v.Error.Code != "upstream_unavailable" ||
			v.Error.Type != "server_error" || !strings.Contains(v.Error.Message, "health checks") {
			t.Fatalf("stream=%v: %d Retry-After=%q %s", stream, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	// Private traffic: only priv may serve it, and it is unhealthy.
	pubBefore := pub.chats.Load()
	resp, body := e.post("/v1/chat/completions", chatBody("deepseek-reasoner", false, ""), "X-Private", "1")
	if resp.StatusCode != 503 || !strings.Contains(string(body), "upstream_unavailable") {
		t.Fatalf("private request with the private upstream unhealthy: %d %s", resp.StatusCode, body)
	}
	if n := pub.chats.Load() - pubBefore; n != 0 {
		t.Fatalf("a private request reached the public upstream (%d)", n)
	}
	// Other traffic on that route fails over to the public upstream.
	if resp, body := e.post("/v1/chat/completions", chatBody("deepseek-reasoner", false, "")); resp.StatusCode != 200 || pub.chats.Load() != pubBefore+1 {
		t.Fatalf("public request: %d %s", resp.StatusCode, body)
	}
	if n := priv.chats.Load() - before; n != 0 {
		t.Fatalf("the unhealthy upstream got %d requests", n)
	}
}

// TestHealthAlert: an upstream that turns unhealthy raises one
// upstream_unhealthy incident at the alert webhook, however many checks
// then fail, naming the upstream and the reason.
func TestHealthAlert(t *testing.T) {
	t.Parallel()
	hook := newWebhook(t)
	a := newProbedUpstream(t)
	e := start(t, []upstreamSpec{{Name: "a", URL: a.srv.URL + "/v1"}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "a"}},
		"alerts:\n  sinks:\n    - {name: generic, url: "+hook.url+"/generic}\n")
	e.applyHealth(func(ups map[string]*config.Upstream) { ups["a"].HealthCheck = fastCheck })
	a.checkFails.Store(true)
	waitFor(t, 5*time.Second, func() bool { return e.healthState("a") == "unhealthy" })
	waitFor(t, 5*time.Second, func() bool { return hook.kinds()["upstream_unhealthy"] == 1 })
	// More failed checks within the dedup window: no second alert.
	n := e.upstreamStates()["a"].Health.ChecksFailed
	waitFor(t, 5*time.Second, func() bool { return e.upstreamStates()["a"].Health.ChecksFailed >= n+3 })
	e.stop()
	if got := hook.kinds(); got["upstream_unhealthy"] != 1 || len(got) != 1 {
		t.Fatalf("alerts = %v, want one upstream_unhealthy", got)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	inc, _ := hook.bodies[0]["incident"].(map[string]any)
	if b, _ := json.Marshal(inc); !strings.Contains(string(b), `"a"`) || !strings.Contains(string(b), "failed health checks") {
		t.Errorf("incident %s: want the upstream and the reason", b)
	}
}

// TestEjectionDuringRetries: an upstream ejected by a request's own failed
// attempt is not tried again by that request's later attempts.
func TestEjectionDuringRetries(t *testing.T) {
	t.Parallel()
	a, b := newProbedUpstream(t), newProbedUpstream(t)
	e := start(t, []upstreamSpec{{Name: "a", URL: a.srv.URL + "/v1"}, {Name: "b", URL: b.srv.URL + "/v1"}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "a, b",
			Extra: "    retries: {max_attempts: 3, backoff: 5ms}\n"}}, "")
	e.applyHealth(func(ups map[string]*config.Upstream) {
		ups["a"].OutlierDetection = config.OutlierDetection{Enabled: true, ConsecutiveFailures: 1,
			BaseEjectionTime: time.Minute, MaxEjectionTime: time.Minute}
	})
	a.chatFails.Store(true)
	b.chatFails.Store(true)
	// Attempt 1 fails on a and ejects it, attempt 2 fails on b, and
	// attempt 3, a's turn again, finds it ejected.
	resp, body := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
	checkAPIError(t, resp, body, http.StatusServiceUnavailable, "upstream_unavailable")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After on the answer")
	}
	if na, nb := a.chats.Load(), b.chats.Load(); na != 1 || nb != 1 {
		t.Fatalf("a got %d requests and b %d; want one each: a was ejected after its first", na, nb)
	}
}
