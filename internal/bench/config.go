package bench

import (
	"crypto/rand"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// gatewayConfig is the part of the gateway's configuration file that the
// benchmark sets. It mirrors internal/config's YAML keys, with omitempty so
// that everything else keeps the gateway's defaults.
type gatewayConfig struct {
	Listen    listenConfig              `yaml:"listen"`
	Admin     adminConfig               `yaml:"admin"`
	DataDir   string                    `yaml:"data_dir"`
	Auth      authConfig                `yaml:"auth"`
	Upstreams map[string]upstreamConfig `yaml:"upstreams"`
	Routes    []routeConfig             `yaml:"routes"`
	// Stages holds the sections of the security stages under test.
	Stages map[string]any `yaml:",inline"`
}

// withStages turns on the stages named by stages: none (the core path,
// audit trail off), audit, waf (without the audit trail) or all. The limits of "all" are far above the load, so that they cost their
// bookkeeping but refuse nothing.
func (c *gatewayConfig) withStages(stages string) error {
	on := map[string]any{"enabled": true}
	off := map[string]any{"enabled": false}
	switch stages {
	case "", "none":
		// The core path alone: the audit trail, on by default, is a stage
		// too.
		c.Stages = map[string]any{"audit": off}
	case "audit":
		c.Stages = map[string]any{"audit": on}
	case "waf":
		c.Stages = map[string]any{"audit": off, "waf": on}
	case "all":
		c.Stages = map[string]any{
			"audit":  on,
			"waf":    on,
			"guards": map[string]any{"enabled": true, "harmful": map[string]any{"action": "flag"}},
			"dlp":    on,
			"limits": map[string]any{"rules": []map[string]any{{
				"name": "per-key", "by": []string{"key"}, "window": "minute", "requests": 1000000000, "total_tokens": 1000000000000,
			}}},
		}
	default:
		return fmt.Errorf("--stages: %q is not none, audit, waf or all", stages)
	}
	return nil
}

// listenConfig is the client listener: address and caps.
type listenConfig struct {
	Addr                string `yaml:"addr"`
	MaxInFlight         int    `yaml:"max_in_flight"`
	MaxConnections      int    `yaml:"max_connections"`
	MaxConnectionsPerIP int    `yaml:"max_connections_per_ip"`
}

// adminConfig is the admin listener, polled for /readyz.
type adminConfig struct {
	Addr string `yaml:"addr"`
}

// authConfig turns off store keys and admits the static benchmark key.
type authConfig struct {
	APIKeys    bool              `yaml:"api_keys"`
	StaticKeys []staticKeyConfig `yaml:"static_keys"`
}

// staticKeyConfig is one key given in the file.
type staticKeyConfig struct {
	Name string `yaml:"name"`
	Key  string `yaml:"key"`
}

// upstreamConfig is the simulator as the one upstream.
type upstreamConfig struct {
	URL    string `yaml:"url"`
	Flavor string `yaml:"flavor"`
}

// routeConfig sends the DeepSeek models to the simulator.
type routeConfig struct {
	Name      string         `yaml:"name"`
	Models    []string       `yaml:"models"`
	Upstreams []targetConfig `yaml:"upstreams"`
	Reasoning string         `yaml:"reasoning"`
}

// targetConfig uses the mapping form of a route target, which a decoder
// accepts whether or not it also knows the short string form.
type targetConfig struct {
	Upstream string `yaml:"upstream"`
}

// benchLimit is the value of every connection and in-flight cap: the
// benchmark measures the gateway's cost, not its admission control.
const benchLimit = 100000

// newGatewayConfig returns the configuration of a gateway on listenAddr and
// adminAddr that sends deepseek-chat and deepseek-reasoner to the simulator
// at simAddr and admits one static key.
func newGatewayConfig(listenAddr, adminAddr, simAddr, dataDir, key string) gatewayConfig {
	return gatewayConfig{
		Listen: listenConfig{
			Addr:                listenAddr,
			MaxInFlight:         benchLimit,
			MaxConnections:      benchLimit,
			MaxConnectionsPerIP: benchLimit,
		},
		Admin:   adminConfig{Addr: adminAddr},
		DataDir: dataDir,
		Auth: authConfig{
			APIKeys:    false,
			StaticKeys: []staticKeyConfig{{Name: "bench", Key: key}},
		},
		Upstreams: map[string]upstreamConfig{
			"sim": {URL: "http://" + simAddr + "/v1", Flavor: "deepseek"},
		},
		Routes: []routeConfig{{
			Name:      "bench",
			Models:    []string{"deepseek-reasoner", "deepseek-chat"},
			Upstreams: []targetConfig{{Upstream: "sim"}},
			Reasoning: "pass",
		}},
	}
}

// writeGatewayConfig writes cfg as YAML to path, readable by its owner only
// since it holds the benchmark's key.
func writeGatewayConfig(path string, cfg gatewayConfig) error {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode gateway config: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write gateway config: %w", err)
	}
	return nil
}

// keyAlphabet is the set of characters of a generated key.
const keyAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomKey returns a 40-character random API key.
func randomKey() string {
	var b [40]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error.
	for i := range b {
		// 256 is not a multiple of 62; the slight bias does not matter for
		// a throw-away key on loopback.
		b[i] = keyAlphabet[int(b[i])%len(keyAlphabet)]
	}
	return string(b[:])
}
