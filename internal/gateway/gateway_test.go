package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/sim"
)

const (
	clientKey   = "client-key-0123456789abcdefghij"
	adminToken  = "admin-token-0123456789abcdefghij"
	providerKey = "sk-provider-0123456789abcdef"
)

func writeConfig(t *testing.T, path, upstreamURL, reasoning string) {
	t.Helper()
	y := "listen: {addr: 127.0.0.1:0}\nadmin: {addr: 127.0.0.1:0, token: " + adminToken + "}\n" +
		"data_dir: " + filepath.Dir(path) + "\n" +
		"auth: {api_keys: false, static_keys: [{name: c, key: " + clientKey + "}]}\n" +
		"upstreams: {sim: {url: " + upstreamURL + ", flavor: deepseek, api_key: " + providerKey + "}}\n" +
		"routes: [{name: r, models: [deepseek-chat], upstreams: [sim], reasoning: " + reasoning + "}]\n"
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startGateway runs a gateway on a configuration file and returns its
// admin base URL.
func startGateway(t *testing.T) (*Gateway, string, string) {
	t.Helper()
	up := httptest.NewServer(sim.New(sim.Options{APIKey: providerKey}))
	t.Cleanup(up.Close)
	path := filepath.Join(t.TempDir(), "rampart.yaml")
	writeConfig(t, path, up.URL+"/v1", "pass")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(config.FormatErrors(err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	g, err := New(ctx, cfg, Options{ConfigPath: path, Log: slog.New(slog.DiscardHandler)})
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
	return g, "http://" + g.AdminAddr(), path
}

func do(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	_, admin, _ := startGateway(t)
	tests := []struct {
		name, method, path, token string
		status                    int
	}{
		{"health needs no token", "GET", "/healthz", "", 200},
		{"readiness needs no token", "GET", "/readyz", "", 200},
		{"metrics", "GET", "/metrics", "", 200},
		{"config without token", "GET", "/admin/v1/config", "", 401},
		{"config with a wrong token", "GET", "/admin/v1/config", "wrong", 401},
		{"config with the token", "GET", "/admin/v1/config", adminToken, 200},
		{"profiles need the token", "GET", "/debug/pprof/", "", 401},
		{"reload without token", "POST", "/admin/v1/reload", "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := do(t, tt.method, admin+tt.path, tt.token)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			for _, secret := range []string{clientKey, adminToken, providerKey} {
				if strings.Contains(body, secret) {
					t.Fatalf("a secret appears in %s", tt.path)
				}
			}
		})
	}
}

func TestReloadKeepsOldConfigOnError(t *testing.T) {
	t.Parallel()
	g, admin, path := startGateway(t)
	// A valid change is applied.
	up := g.Config().Upstreams["sim"].URL
	writeConfig(t, path, up, "strip")
	if status, body := do(t, "POST", admin+"/admin/v1/reload", adminToken); status != 200 {
		t.Fatalf("reload: %d %s", status, body)
	}
	if got := g.Config().Routes[0].Reasoning; got != "strip" {
		t.Fatalf("reasoning after reload = %q", got)
	}
	// A broken file is refused with its reasons; the old one keeps serving.
	if err := os.WriteFile(path, []byte("routes: [{models: [x], upstreams: [nope]}]\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	status, body := do(t, "POST", admin+"/admin/v1/reload", adminToken)
	if status != 400 || !strings.Contains(body, "bogus") {
		t.Fatalf("bad reload: %d %s", status, body)
	}
	if got := g.Config().Routes[0].Reasoning; got != "strip" {
		t.Fatalf("the rejected file replaced the configuration: %q", got)
	}
	// The client API still answers.
	req, _ := http.NewRequest("POST", "http://"+g.ClientAddr()+"/v1/chat/completions",
		strings.NewReader(`{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+clientKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("chat after a rejected reload: %d", resp.StatusCode)
	}
}

func TestReloadOnFileChange(t *testing.T) {
	t.Parallel()
	g, _, path := startGateway(t)
	writeConfig(t, path, g.Config().Upstreams["sim"].URL, "separate")
	deadline := time.Now().Add(5 * time.Second)
	for g.Config().Routes[0].Reasoning != "separate" {
		if time.Now().After(deadline) {
			t.Fatal("the changed file was not picked up within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAuditMetricsExported(t *testing.T) {
	t.Parallel()
	_, admin, _ := startGateway(t)
	_, body := do(t, "GET", admin+"/metrics", "")
	for _, name := range []string{"rampart_audit_records_written_total", "rampart_audit_records_dropped_total 0", "rampart_audit_queue"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
