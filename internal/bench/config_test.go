package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-gw/rampart/internal/config"
)

func TestGatewayConfigParses(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rampart.yaml")
	key := randomKey()
	cfg := newGatewayConfig("127.0.0.1:18080", "127.0.0.1:19090", "127.0.0.1:17000", "/tmp/data", key)
	if err := writeGatewayConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) (string, bool) { return "", false }
	got, err := config.Parse(data, path, noEnv)
	if err != nil {
		t.Fatalf("config.Parse rejected the benchmark config: %v\n%s", err, data)
	}
	checks := []struct {
		desc      string
		got, want any
	}{
		{"listen addr", got.Listen.Addr, "127.0.0.1:18080"},
		{"admin addr", got.Admin.Addr, "127.0.0.1:19090"},
		{"max in flight", got.Listen.MaxInFlight, benchLimit},
		{"max connections", got.Listen.MaxConnections, benchLimit},
		{"max connections per ip", got.Listen.MaxConnectionsPerIP, benchLimit},
		{"store keys off", got.Auth.APIKeys != nil && !*got.Auth.APIKeys, true},
		{"static key", len(got.Auth.StaticKeys) == 1 && got.Auth.StaticKeys[0].Key == key, true},
		{"upstream url", got.Upstreams["sim"] != nil && got.Upstreams["sim"].URL == "http://127.0.0.1:17000/v1", true},
		{"route target", len(got.Routes) == 1 && len(got.Routes[0].Upstreams) == 1 && got.Routes[0].Upstreams[0].Upstream == "sim", true},
		{"route models", len(got.Routes[0].Models), 2},
		{"reasoning", got.Routes[0].Reasoning, "pass"},
		{"data dir", got.DataDir, "/tmp/data"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.desc, c.got, c.want)
		}
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Errorf("config file mode = %v, %v; want readable by its owner only", st.Mode(), err)
	}
}

func TestRandomKey(t *testing.T) {
	t.Parallel()
	a, b := randomKey(), randomKey()
	if len(a) != 40 || a == b {
		t.Errorf("randomKey() = %q, %q; want two different 40-character keys", a, b)
	}
}

func TestChatBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		size   int
		stream bool
		xsim   string
	}{
		{"plain 2 KB", 2048, false, ""},
		{"streamed with knobs", 2048, true, `{"events":200,"reasoning_tokens":0}`},
		{"smaller than the envelope", 10, true, `{"tps":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			b := chatBody(tt.size, tt.stream, tt.xsim)
			var v struct {
				Model    string         `json:"model"`
				Stream   bool           `json:"stream"`
				XSim     map[string]any `json:"x_sim"`
				Messages []struct{ Role, Content string }
			}
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, b)
			}
			if v.Model != "deepseek-chat" || v.Stream != tt.stream || len(v.Messages) != 1 || (tt.xsim != "") != (v.XSim != nil) {
				t.Errorf("unexpected body %s", b)
			}
			if tt.size > 200 && len(b) != tt.size {
				t.Errorf("body is %d bytes, want %d", len(b), tt.size)
			}
		})
	}
}

func TestGatewayConfigStages(t *testing.T) {
	t.Parallel()
	noEnv := func(string) (string, bool) { return "", false }
	tests := []struct {
		stages                          string
		audit, waf, guards, dlp, limits bool
		bad                             bool
	}{
		{stages: "none"},
		{stages: "audit", audit: true},
		{stages: "waf", waf: true},
		{stages: "all", audit: true, waf: true, guards: true, dlp: true, limits: true},
		{stages: "everything", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.stages, func(t *testing.T) {
			t.Parallel()
			cfg := newGatewayConfig("127.0.0.1:18080", "127.0.0.1:19090", "127.0.0.1:17000", "/tmp/data", randomKey())
			err := cfg.withStages(tt.stages)
			if tt.bad {
				if err == nil {
					t.Fatal("an unknown stage set was accepted")
				}
				return
			}
			path := filepath.Join(t.TempDir(), "rampart.yaml")
			if err := writeGatewayConfig(path, cfg); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			got, err := config.Parse(data, path, noEnv)
			if err != nil {
				t.Fatalf("config.Parse: %v\n%s", err, data)
			}
			if got.Audit.On() != tt.audit || got.WAF.Enabled != tt.waf || got.Guards.Enabled != tt.guards || got.DLP.Enabled != tt.dlp || (len(got.Limits.Rules) > 0) != tt.limits {
				t.Fatalf("stages %q: waf=%v guards=%v dlp=%v limits=%d", tt.stages, got.WAF.Enabled, got.Guards.Enabled, got.DLP.Enabled, len(got.Limits.Rules))
			}
		})
	}
}
