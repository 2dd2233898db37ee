package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-gw/rampart/internal/sim"
)

// adminDo sends one request to the admin listener with the given Host and
// headers (name, value pairs) and returns the status and the error code of
// an OpenAI-style error answer ("" for any other answer).
func (e *env) adminDo(method, path, host, body string, hdr ...string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.admin+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var ae struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &ae)
	return resp.StatusCode, ae.Error.Code
}

// TestAdminRefusesWebPages: a web page the operator's browser shows can
// neither change the gateway through the admin API (a kill sent from
// another origin) nor read it by DNS rebinding (a name re-pointed at
// 127.0.0.1), while command-line clients are served as before.
func TestAdminRefusesWebPages(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	addr := strings.TrimPrefix(e.admin, "http://")
	_, port, _ := strings.Cut(addr, ":")
	kill := `{"target":"*","reason":"from a web page"}`
	tests := []struct {
		desc, method, path, host, body string
		hdr                            []string
		status                         int
		code                           string
	}{
		{"cross-site kill (fetch, text/plain)", "POST", "/admin/v1/kill", "", kill,
			[]string{"Sec-Fetch-Site", "cross-site", "Content-Type", "text/plain"}, 403, "cross_origin_request"},
		{"same-site kill from another port's page", "POST", "/admin/v1/kill", "", kill,
			[]string{"Sec-Fetch-Site", "same-site", "Content-Type", "text/plain"}, 403, "cross_origin_request"},
		{"kill from another origin (older browser: Origin only)", "POST", "/admin/v1/kill", "", kill,
			[]string{"Origin", "http://evil.example", "Content-Type", "text/plain"}, 403, "cross_origin_request"},
		{"reload from another origin", "POST", "/admin/v1/reload", "", "",
			[]string{"Sec-Fetch-Site", "cross-site"}, 403, "cross_origin_request"},
		{"audit read by DNS rebinding", "GET", "/admin/v1/audit", "rebind.evil.example:" + port, "", nil, 403, "host_not_allowed"},
		{"config read by DNS rebinding", "GET", "/admin/v1/config", "rebind.evil.example:" + port, "", nil, 403, "host_not_allowed"},
		{"metrics read by DNS rebinding", "GET", "/metrics", "rebind.evil.example", "", nil, 403, "host_not_allowed"},
		{"kill by DNS rebinding", "POST", "/admin/v1/kill", "rebind.evil.example:" + port, kill,
			[]string{"Sec-Fetch-Site", "same-origin"}, 403, "host_not_allowed"},
		{"audit read by localhost", "GET", "/admin/v1/audit", "localhost:" + port, "", nil, 200, ""},
		{"audit read by [::1]", "GET", "/admin/v1/audit", "[::1]:" + port, "", nil, 200, ""},
		{"kill list read cross-site (a read changes nothing)", "GET", "/admin/v1/kill", "", "",
			[]string{"Sec-Fetch-Site", "cross-site"}, 200, ""},
	}
	for _, tc := range tests {
		st, code := e.adminDo(tc.method, tc.path, tc.host, tc.body, tc.hdr...)
		if st != tc.status || code != tc.code {
			t.Errorf("%s: %d %q, want %d %q", tc.desc, st, code, tc.status, tc.code)
		}
	}
	// None of the refused kills is in force: the model still answers.
	if resp, b := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, "")); resp.StatusCode != 200 {
		t.Fatalf("chat after refused kills: %d %s", resp.StatusCode, b)
	}
	// A command-line client and a page of the admin listener's own origin
	// are served.
	if st, code := e.adminDo("POST", "/admin/v1/kill", "", `{"target":"r","reason":"drill"}`, "Content-Type", "application/json"); st != 200 {
		t.Fatalf("kill from the command line: %d %q", st, code)
	}
	if st, code := e.adminDo("POST", "/admin/v1/revive", "", `{"target":"r"}`, "Sec-Fetch-Site", "same-origin"); st != 200 {
		t.Fatalf("revive from the same origin: %d %q", st, code)
	}
}

// TestAdminWithTokenAnswersAnyHost: with admin.token set, the admin
// listener may be reached by name (a Kubernetes Service), and the token
// guards the API.
func TestAdminWithTokenAnswersAnyHost(t *testing.T) {
	t.Parallel()
	const token = "admin-token-0123456789abcdef"
	e := startWith(t, startOpts{Admin: "token: " + token}, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	host := "rampart-admin.ns.svc.cluster.local:9090"
	if st, code := e.adminDo("GET", "/admin/v1/kill", host, ""); st != 401 || code != "invalid_admin_token" {
		t.Fatalf("no token: %d %q, want 401 invalid_admin_token", st, code)
	}
	if st, code := e.adminDo("GET", "/admin/v1/kill", host, "", "Authorization", "Bearer "+token); st != 200 {
		t.Fatalf("with the token: %d %q", st, code)
	}
	if st, _ := e.adminDo("GET", "/metrics", host, ""); st != 200 {
		t.Fatalf("metrics by name: %d", st)
	}
	if st, code := e.adminDo("POST", "/admin/v1/kill", host, `{"target":"*"}`,
		"Authorization", "Bearer "+token, "Sec-Fetch-Site", "cross-site"); st != 403 || code != "cross_origin_request" {
		t.Fatalf("cross-site kill with the token: %d %q, want 403 cross_origin_request", st, code)
	}
}
