package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/sim"
)

// TestAuditOneRecordPerRefusalAndUpstreamFailure extends
// TestAuditOneRecordPerRequest to the other ways a request ends: blocked by
// DLP, refused by a limit, cut by the kill switch, an upstream answering
// 5xx or 429, an upstream timing out, an unknown path and a wrong method.
// Each leaves exactly one audit record with the status the client saw, and
// an outcome that tells a stage's refusal (blocked) from a failure (error).
func TestAuditOneRecordPerRefusalAndUpstreamFailure(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{
		{Name: "sim", Sim: &sim.Options{}},
		{Name: "slow", Sim: &sim.Options{}, Timeouts: "first_byte: 300ms"},
		{Name: "other", Sim: &sim.Options{}},
	}, []routeSpec{
		{Name: "r", Models: "deepseek-chat", Upstreams: "sim"},
		{Name: "r-slow", Models: "m-slow", Upstreams: "slow"},
		{Name: "r-kill", Models: "m-kill", Upstreams: "other"},
	}, "dlp: {enabled: true, request: {types: {CREDIT_CARD: block}}}\n"+
		"limits: {rules: [{name: per-key-slow, by: [key], match: {model: [m-slow]}, window: minute, requests: 1}]}\n")
	type sent struct {
		desc    string
		id      string
		status  int
		outcome string
	}
	var all []sent
	send := func(desc, method, path, body string, status int, outcome string) {
		req := e.newRequest(path, body)
		req.Method = method
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("%s: status %d, want %d", desc, resp.StatusCode, status)
		}
		all = append(all, sent{desc, resp.Header.Get("X-Request-Id"), status, outcome})
	}
	chat := "/v1/chat/completions"
	card := strings.Replace(chatBody("deepseek-chat", false, ""), `"content":"`, `"content":"card 4111 1111 1111 1111 `, 1)
	send("dlp block", http.MethodPost, chat, card, 400, "blocked")
	send("upstream 500", http.MethodPost, chat, chatBody("deepseek-chat", false, `,"x_sim":{"status":500}`), 502, "error")
	send("upstream 429", http.MethodPost, chat, chatBody("deepseek-chat", false, `,"x_sim":{"status":429}`), 429, "error")
	send("upstream timeout", http.MethodPost, chat, chatBody("m-slow", false, `,"x_sim":{"hang":true}`), 504, "error")
	send("limit", http.MethodPost, chat, chatBody("m-slow", false, ""), 429, "blocked")
	send("unknown path", http.MethodPost, "/v1/nothing", "{}", 404, "error")
	send("wrong method", http.MethodGet, chat, "", 405, "error")
	if st, b := e.adminPost("/admin/v1/kill", `{"target":"m-kill","reason":"drill"}`); st != 200 {
		t.Fatalf("kill: %d %s", st, b)
	}
	send("killed", http.MethodPost, chat, chatBody("m-kill", false, ""), 503, "blocked")
	for _, s := range all {
		if s.id == "" {
			t.Fatalf("%s: no request id", s.desc)
		}
		var rows []auditRow
		waitFor(t, 5*time.Second, func() bool {
			rows, _ = e.auditRows("request_id=" + url.QueryEscape(s.id))
			return len(rows) > 0
		})
		if len(rows) != 1 || rows[0].Status != s.status || rows[0].Outcome != s.outcome {
			t.Errorf("%s: audit rows %+v, want one with status %d, outcome %s", s.desc, rows, s.status, s.outcome)
		}
	}
	rows, _ := e.auditRows("limit=1000")
	if len(rows) != len(all) {
		t.Errorf("%d audit records for %d requests", len(rows), len(all))
	}
	if rows, _ := e.auditRows("outcome=blocked"); len(rows) != 3 {
		t.Errorf("outcome=blocked: %d records, want 3 (DLP, limit, kill switch)", len(rows))
	}
	// The verdicts are queryable: the DLP block, the limit and the kill.
	for _, v := range []string{"dlp", "limit", "killswitch"} {
		if rows, _ := e.auditRows("verdict=" + v); len(rows) != 1 {
			t.Errorf("verdict=%s: %d records, want 1", v, len(rows))
		}
	}
	e.stop()
	scanForSecrets(t, e, "4111 1111 1111 1111", testKey)
}
