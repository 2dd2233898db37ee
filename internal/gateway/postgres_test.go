package gateway

import (
	"context"
	"encoding/json"
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
	"github.com/rampart-gw/rampart/internal/pgtest"
	"github.com/rampart-gw/rampart/internal/sim"
)

// pgGatewayConfig writes a configuration whose store is the PostgreSQL DSN
// and loads it.
func pgGatewayConfig(t *testing.T, dsn, upstreamURL string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "rampart.yaml")
	y := "listen: {addr: 127.0.0.1:0}\nadmin: {addr: 127.0.0.1:0, token: " + adminToken + "}\n" +
		"data_dir: " + dir + "\n" +
		"store: {postgres: '" + dsn + "'}\n" +
		"upstreams: {sim: {url: " + upstreamURL + ", flavor: deepseek, api_key: " + providerKey + "}}\n" +
		"routes: [{name: r, models: [deepseek-chat], upstreams: [sim]}]\n"
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(config.FormatErrors(err))
	}
	return cfg
}

// A DSN that cannot connect fails start-up with an error that names
// store.postgres and does not show the password.
func TestPostgresStoreUnreachableFailsStart(t *testing.T) {
	t.Parallel()
	const secret = "pg-pass-7c1e0b"
	cfg := pgGatewayConfig(t, "postgres://rampart:"+secret+"@127.0.0.1:1/rampart?sslmode=disable&connect_timeout=5", "http://127.0.0.1:1/v1")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	g, err := New(ctx, cfg, Options{Log: slog.New(slog.DiscardHandler)})
	if err == nil {
		g.closeStore()
		t.Fatal("the gateway started on an unreachable PostgreSQL store")
	}
	t.Logf("start-up error: %v", err)
	if !strings.HasPrefix(err.Error(), "store.postgres: ") || strings.Contains(err.Error(), secret) {
		t.Errorf("start-up error = %q; want it to name store.postgres and hide the password", err)
	}
}

// Two gateways on one PostgreSQL database: a key created through one
// instance's admin API authenticates on the other.
func TestPostgresStoreSharedByTwoGateways(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.SchemaDSN(t, "rampart_gw_test_")
	up := httptest.NewServer(sim.New(sim.Options{APIKey: providerKey}))
	t.Cleanup(up.Close)
	var gws [2]*Gateway
	for i := range gws {
		cfg := pgGatewayConfig(t, dsn, up.URL+"/v1")
		ctx, cancel := context.WithCancel(context.Background())
		g, err := New(ctx, cfg, Options{Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			cancel()
			t.Fatalf("gateway %d: %v", i, err)
		}
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx, 2*time.Second) }()
		t.Cleanup(func() {
			cancel()
			<-done
		})
		gws[i] = g
	}
	req, _ := http.NewRequest("POST", "http://"+gws[0].AdminAddr()+"/admin/v1/keys", strings.NewReader(`{"name":"shared"}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Key string `json:"key"`
	}
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK || created.Key == "" {
		t.Fatalf("create key on gateway 0: %d, %v", resp.StatusCode, err)
	}
	chat := func(g *Gateway) int {
		req, _ := http.NewRequest("POST", "http://"+g.ClientAddr()+"/v1/chat/completions",
			strings.NewReader(`{"model":"deepseek-chat","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+created.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := chat(gws[1]); got != http.StatusOK {
		t.Errorf("the key created on gateway 0 gets %d on gateway 1, want 200", got)
	}
	if got := chat(gws[0]); got != http.StatusOK {
		t.Errorf("the key gets %d on the gateway that created it, want 200", got)
	}
	// A kill flipped on gateway 0 reaches gateway 1 through the store.
	if status, body := doBody(t, "POST", "http://"+gws[0].AdminAddr()+"/admin/v1/kill", `{"target":"sim","reason":"test"}`); status != http.StatusOK {
		t.Fatalf("kill on gateway 0: %d %s", status, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := doBody(t, "GET", "http://"+gws[1].AdminAddr()+"/admin/v1/kill", "")
		if strings.Contains(body, `"sim"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway 1 never saw the kill: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := chat(gws[1]); got == http.StatusOK {
		t.Error("gateway 1 still serves a killed upstream")
	}
}

// doBody sends an admin request with a JSON body.
func doBody(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
