// Package e2e_test runs the gateway end to end over loopback: a real
// `gateway.Gateway` in front of the built-in simulator, driven by the
// official OpenAI Go SDK and by raw HTTP where the SDK cannot express the
// input.
package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rampart-gw/rampart/internal/accesslog"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/gateway"
	"github.com/rampart-gw/rampart/internal/sim"
)

const testKey = "rk-test-0123456789abcdefghijklmnopqrstuvwxyz"

// env is one gateway with its simulators.
type env struct {
	t      *testing.T
	gw     *gateway.Gateway
	base   string // http://ADDR
	admin  string // http://ADDR
	sims   map[string]*sim.Server
	client openai.Client
	logs   *syncBuffer
	yaml   string // the configuration the gateway started with
	// configPath is the configuration file, when startOpts.ConfigFile.
	configPath string
	cancel     context.CancelFunc
	done       chan error
}

// upstreamSpec describes one upstream of a test configuration: a simulator
// (Sim set) or a fixed URL (a dead port, a custom handler).
type upstreamSpec struct {
	Name     string
	Sim      *sim.Options
	URL      string
	Flavor   string
	Timeouts string // YAML flow mapping body, such as "first_byte: 300ms"
	APIKey   string // provider credential the gateway sends upstream
	Public   bool   // a third-party upstream: private traffic never goes there
}

// routeSpec is one route of a test configuration.
type routeSpec struct {
	Name      string
	Models    string // YAML flow sequence body
	Upstreams string // YAML flow sequence body
	Reasoning string
	Extra     string // more YAML lines, indented by 4
}

// startOpts are the harness settings beyond upstreams and routes.
type startOpts struct {
	// Listen holds more client listener fields, as a YAML flow mapping
	// body such as "max_body_bytes: 1024, read_header_timeout: 1s".
	Listen string
	// ConfigFile writes the configuration to a file and starts the gateway
	// with it as Options.ConfigPath, so that Reload reads that file.
	ConfigFile bool
	// Admin holds more admin listener fields, as Listen does.
	Admin string
}

// start builds a configuration from the specs and runs a gateway on it.
func start(t *testing.T, ups []upstreamSpec, routes []routeSpec, extra string) *env {
	t.Helper()
	return startWith(t, startOpts{}, ups, routes, extra)
}

// startWith is start with listener fields and a configuration file.
func startWith(t *testing.T, o startOpts, ups []upstreamSpec, routes []routeSpec, extra string) *env {
	t.Helper()
	e := &env{t: t, sims: map[string]*sim.Server{}, logs: &syncBuffer{}}
	var y strings.Builder
	listen := "addr: 127.0.0.1:0"
	if o.Listen != "" {
		listen += ", " + o.Listen
	}
	admin := "addr: 127.0.0.1:0"
	if o.Admin != "" {
		admin += ", " + o.Admin
	}
	fmt.Fprintf(&y, "listen: {%s}\nadmin: {%s}\ndata_dir: %s\n", listen, admin, t.TempDir())
	fmt.Fprintf(&y, "auth: {api_keys: false, static_keys: [{name: test, team: qa, key: %s}]}\n", testKey)
	y.WriteString("upstreams:\n")
	for _, u := range ups {
		url := u.URL
		if u.Sim != nil {
			s := sim.New(*u.Sim)
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			e.sims[u.Name] = s
			url = srv.URL + "/v1"
		}
		flavor := u.Flavor
		if flavor == "" {
			flavor = "deepseek"
		}
		fmt.Fprintf(&y, "  %s:\n    url: %s\n    flavor: %s\n", u.Name, url, flavor)
		if u.Timeouts != "" {
			fmt.Fprintf(&y, "    timeouts: {%s}\n", u.Timeouts)
		}
		if u.APIKey != "" {
			fmt.Fprintf(&y, "    api_key: %s\n", u.APIKey)
		}
		if u.Public {
			y.WriteString("    public: true\n")
		}
	}
	y.WriteString("routes:\n")
	for _, r := range routes {
		reasoning := r.Reasoning
		if reasoning == "" {
			reasoning = "pass"
		}
		fmt.Fprintf(&y, "  - name: %s\n    models: [%s]\n    upstreams: [%s]\n    reasoning: %s\n", r.Name, r.Models, r.Upstreams, reasoning)
		if r.Extra != "" {
			y.WriteString(r.Extra)
		}
	}
	y.WriteString(extra)
	e.yaml = y.String()
	var path string
	if o.ConfigFile {
		path = filepath.Join(t.TempDir(), "rampart.yaml")
		if err := os.WriteFile(path, []byte(e.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.configPath = path
	return e.run(e.yaml, path)
}

func (e *env) run(yaml, path string) *env {
	t := e.t
	cfg, err := config.Parse([]byte(yaml), "e2e.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config:\n%s\n%s", yaml, config.FormatErrors(err))
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	g, err := gateway.New(ctx, cfg, gateway.Options{Log: log, AccessLog: accesslog.New(log), ConfigPath: path})
	if err != nil {
		cancel()
		t.Fatalf("gateway: %v", err)
	}
	e.gw, e.cancel, e.done = g, cancel, make(chan error, 1)
	go func() { e.done <- g.Run(ctx, 5*time.Second) }()
	t.Cleanup(e.stop)
	e.base = "http://" + g.ClientAddr()
	if cfg.Listen.TLS != nil {
		e.base = "https://" + g.ClientAddr()
	}
	e.admin = "http://" + g.AdminAddr()
	e.client = openai.NewClient(option.WithBaseURL(e.base+"/v1"), option.WithAPIKey(testKey), option.WithMaxRetries(0))
	waitFor(t, 5*time.Second, func() bool {
		resp, err := http.Get(e.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return e
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		e.t.Error("gateway did not stop within 10s")
	}
	e.cancel = nil
}

// post sends a raw request to the gateway with the test key.
func (e *env) post(path, body string, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// metrics returns the admin /metrics text.
func (e *env) metrics() string {
	resp, err := http.Get(e.admin + "/metrics")
	if err != nil {
		e.t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

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

func chatBody(model string, stream bool, extra string) string {
	return fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":"Say hello"}]%s}`, model, stream, extra)
}

// sseEvents splits an SSE body into its data payloads.
func sseEvents(body []byte) []string {
	var out []string
	for _, block := range strings.Split(string(body), "\n\n") {
		for _, line := range strings.Split(block, "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				out = append(out, d)
			}
		}
	}
	return out
}

// get sends a raw GET to the gateway with the test key.
func (e *env) get(path string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
