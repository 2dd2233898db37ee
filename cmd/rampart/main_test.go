package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/rampart-gw/rampart/internal/sim"
)

func TestCheckVerb(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("upstreams:\n  a: {url: ftp://x, flavor: llama}\nroutes:\n  - {models: [m], upstreams: [b]}\nlisten: {adr: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const base = "upstreams:\n  sim: {url: \"http://127.0.0.1:8000/v1\"}\nroutes:\n  - {name: default, models: [m], upstreams: [sim]}\n"
	limitsBad := write("limits.yaml", base+"limits:\n  rules:\n    - {window: fortnight, requests: -1, by: [colour]}\n"+
		"    - name: has spaces\n      window: minute\n      match: {client_ip: [not-an-ip]}\n")
	dlpBad := write("dlp.yaml", base+"dlp:\n  enabled: true\n  min_score: 2\n  response:\n    secrets: explode\n")
	filesBad := write("files.yaml", "upstreams:\n  sim: {url: \"ftp://x\"}\nroutes:\n  - {models: [m], upstreams: [sim]}\n"+
		"listen:\n  tls: {cert_file: "+filepath.Join(dir, "no.crt")+", key_file: "+filepath.Join(dir, "no.key")+"}\n")
	rules := write("bad.conf", "SecRule REQUEST_URI \"@contains /x\" \"id:10001,phase:1,deny\"\nSecRuel ARGS \"@rx x\" \"id:10002,phase:2,deny\"\n")
	wafBad := write("waf.yaml", base+"waf:\n  enabled: true\n  rule_files: ["+rules+"]\n")
	terms := write("terms.yaml", base+"dlp:\n  terms: [{type: PROJECT, terms: [bluebird]}]\n  custom: [{type: EMP, pattern: \"EMP-[0-9]+\"}]\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderrRe string
	}{
		{"valid example", []string{"check", "-c", "../../examples/quickstart.yaml"}, 0, "configuration OK", ""},
		{"limits rules with their paths and lines", []string{"check", "-c", limitsBad}, 1, "",
			`(?s)^[^\n]*limits\.yaml:7: limits\.rules\[0\]\.name: required\n` +
				`[^\n]*limits\.yaml:7: limits\.rules\[0\]\.by\[0\]: unknown dimension "colour".*` +
				`limits\.yaml:7: limits\.rules\[0\]\.requests: -1 must not be negative\n.*` +
				`limits\.yaml:7: limits\.rules\[0\]\.window: "fortnight".*` +
				`limits\.yaml:8: limits\.rules\[1\]\.name: "has spaces" must be.*` +
				`limits\.yaml:10: limits\.rules\[1\]\.match\.client_ip\[0\]: "not-an-ip" is not an IP address or a CIDR\n$`},
		{"dlp problems once under dlp, at their lines", []string{"check", "-c", dlpBad}, 1, "",
			`(?s)^[^\n]*dlp\.yaml:7: dlp\.min_score: 2 is outside 0\.\.1\n[^\n]*dlp\.yaml:9: dlp\.response\.secrets: unknown action "explode"\n$`},
		{"missing files with the other problems", []string{"check", "-c", filesBad}, 1, "",
			`(?s)files\.yaml:2: upstreams\.sim\.url: .*files\.yaml:6: listen\.tls\.cert_file: cannot use file: .*files\.yaml:6: listen\.tls\.key_file: cannot use file: `},
		{"WAF rules compiled", []string{"check", "-c", wafBad}, 1, "",
			`waf\.yaml:7: waf\.rule_files\[0\]: \S*bad\.conf:2: unknown directive "secruel"`},
		{"print shows the detector score defaults", []string{"check", "-c", terms, "--print"}, 0,
			"          validator: \"\"\n          score: 0.8\n", ""},
		{"print shows the terms score default", []string{"check", "-c", terms, "--print"}, 0,
			"            - bluebird\n          score: 0.9\n", ""},
		{"every problem with its path and line", []string{"check", "-c", bad}, 1, "",
			`(?s)bad\.yaml:2: upstreams\.a\.flavor: .*bad\.yaml:4: routes\[0\]\.upstreams\[0\]: unknown upstream "b".*listen\.adr: unknown field`},
		{"missing file", []string{"check", "-c", filepath.Join(dir, "nope.yaml")}, 1, "", "nope.yaml"},
		{"no -c", []string{"check"}, 1, "", "-c FILE is required"},
		{"unknown verb", []string{"frobnicate"}, 2, "", `unknown verb "frobnicate"`},
		{"version", []string{"version"}, 0, "rampart ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tt.stdout)
			}
			if tt.stderrRe != "" && !regexp.MustCompile(tt.stderrRe).MatchString(errb.String()) {
				t.Errorf("stderr %q does not match %s", errb.String(), tt.stderrRe)
			}
		})
	}
}

// TestServeRefusesWhatCheckReports checks that serve refuses a file with
// the very messages check prints for it, with file, line and one path.
func TestServeRefusesWhatCheckReports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	body := "data_dir: " + filepath.Join(dir, "data") + "\nlisten: {addr: 127.0.0.1:0}\nadmin: {addr: off}\n" +
		"upstreams:\n  sim: {url: \"http://127.0.0.1:8000/v1\"}\nroutes:\n  - {name: default, models: [m], upstreams: [sim]}\n" +
		"limits:\n  rules:\n    - {window: minute, requests: 1}\n    - {name: b, window: fortnight, requests: 1}\n" +
		"dlp:\n  enabled: true\n  min_score: 2\n"
	if err := os.WriteFile(bad, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var checkErr, serveErr bytes.Buffer
	if code := run([]string{"check", "-c", bad}, io.Discard, &checkErr); code != 1 {
		t.Fatalf("check exit %d: %s", code, checkErr.String())
	}
	if code := run([]string{"serve", "-c", bad}, io.Discard, &serveErr); code != 1 {
		t.Fatalf("serve exit %d: %s", code, serveErr.String())
	}
	for _, w := range []string{
		bad + ":10: limits.rules[0].name: required\n",
		bad + ":11: limits.rules[1].window: \"fortnight\" must be second, minute, hour, day or month\n",
		bad + ":14: dlp.min_score: 2 is outside 0..1\n",
	} {
		if !strings.Contains(serveErr.String(), w) {
			t.Errorf("serve output lacks %q:\n%s", w, serveErr.String())
		}
	}
	if serveErr.String() != checkErr.String() {
		t.Errorf("serve and check disagree:\nserve:\n%s\ncheck:\n%s", serveErr.String(), checkErr.String())
	}
	if strings.Contains(serveErr.String(), "limits: limits") || strings.Contains(serveErr.String(), "dlp.dlp") {
		t.Errorf("serve output has a doubled prefix:\n%s", serveErr.String())
	}
}

// lineWriter collects output and signals each complete line.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		line := string(w.buf.Next(i + 1))
		select {
		case w.lines <- strings.TrimSpace(line):
		default:
		}
	}
	return len(p), nil
}

// demo is a `rampart demo` started by a test.
type demo struct {
	addr, admin, key string
	cancel           context.CancelFunc
	done             chan error
}

// startDemo runs `rampart demo` on free loopback ports and waits for its
// API key line.
func startDemo(t *testing.T) *demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demo{cancel: cancel, done: make(chan error, 1)}
	out := &lineWriter{lines: make(chan string, 16)}
	go func() {
		d.done <- runDemo(ctx, []string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data", t.TempDir()}, out, io.Discard)
	}()
	deadline := time.After(10 * time.Second)
	for d.key == "" {
		select {
		case l := <-out.lines:
			if k, ok := strings.CutPrefix(l, "API key: "); ok {
				d.key = k
			}
			if m := regexp.MustCompile(`gateway on http://(\S+) \(admin http://([^)]+)\)`).FindStringSubmatch(l); m != nil {
				d.addr, d.admin = m[1], m[2]
			}
		case err := <-d.done:
			cancel()
			t.Fatalf("demo ended early: %v", err)
		case <-deadline:
			cancel()
			t.Fatal("no API key line within 10s")
		}
	}
	return d
}

// stop stops the demo and checks that it ended cleanly.
func (d *demo) stop(t *testing.T) {
	t.Helper()
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("demo returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop within 10s")
	}
}

// TestDemoVerb runs `rampart demo` as a newcomer would and talks to it
// with the official SDK using the printed key.
func TestDemoVerb(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	d := startDemo(t)
	addr, admin, key := d.addr, d.admin, d.key
	client := openai.NewClient(option.WithBaseURL("http://"+addr+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "deepseek-reasoner",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
	})
	if err != nil || resp.Choices[0].Message.Content == "" {
		t.Fatalf("chat through the demo: %v", err)
	}
	// The configuration the admin API shows is the one the demo runs: its
	// logs are text.
	creq, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/admin/v1/config", nil)
	if err != nil {
		t.Fatal(err)
	}
	cresp, err := http.DefaultClient.Do(creq)
	if err != nil {
		t.Fatalf("GET /admin/v1/config: %v", err)
	}
	cfgYAML, _ := io.ReadAll(cresp.Body)
	cresp.Body.Close()
	if cresp.StatusCode != http.StatusOK || !regexp.MustCompile(`(?m)^log:\n(\s+\w+: .*\n)*?\s+format: text$`).Match(cfgYAML) {
		t.Errorf("GET /admin/v1/config = %d, want log.format text:\n%s", cresp.StatusCode, cfgYAML)
	}
	// A wrong key is refused.
	bad := openai.NewClient(option.WithBaseURL("http://"+addr+"/v1"), option.WithAPIKey("rk-wrong"), option.WithMaxRetries(0))
	if _, err := bad.Models.List(ctx); err == nil {
		t.Fatal("a wrong key was accepted")
	}
	// The kill switch contract: while the demo's only upstream is killed, a
	// chat request gets a 503 naming the kill switch.
	var kout bytes.Buffer
	if err := runKill(ctx, []string{"r1-sim", "--reason", "test", "--admin", admin}, &kout, io.Discard); err != nil {
		t.Fatalf("rampart kill: %v", err)
	}
	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "deepseek-reasoner",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || !strings.Contains(apiErr.Message, "kill switch") {
		t.Fatalf("chat while killed: %v", err)
	}
	if err := runRevive(ctx, []string{"r1-sim", "--admin", admin}, &kout, io.Discard); err != nil {
		t.Fatalf("rampart revive: %v", err)
	}
	if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "deepseek-reasoner",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
	}); err != nil {
		t.Fatalf("chat after revive: %v", err)
	}
	d.stop(t)
}

// nodeEnv, when set, makes the Node.js example's test fail rather than skip
// when node or the example's packages (npm ci in examples/node) are
// missing; CI sets it.
const nodeEnv = "RAMPART_TEST_NODE"

// TestNodeClientExample runs examples/node/chat.mjs as written, with the
// official openai npm package, against `rampart demo`.
func TestNodeClientExample(t *testing.T) {
	t.Parallel()
	dir, _ := filepath.Abs(filepath.Join(origWD(t), "../../examples/node"))
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json"))
	}
	if err != nil {
		if os.Getenv(nodeEnv) != "" {
			t.Fatalf("%s is set but the example cannot run: %v", nodeEnv, err)
		}
		t.Skipf("needs node and `npm ci` in examples/node (%v); set %s to require it", err, nodeEnv)
	}
	d := startDemo(t)
	defer d.stop(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "chat.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RAMPART_BASE_URL=http://"+d.addr+"/v1", "RAMPART_API_KEY="+d.key)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node chat.mjs: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^request id: req_\S+$`),
		regexp.MustCompile(`(?m)^reasoning: [1-9][0-9]* characters$`),
		regexp.MustCompile(`(?m)^answer: \S`),
		regexp.MustCompile(`(?m)^usage: [1-9][0-9]* prompt, [1-9][0-9]* completion tokens$`),
		regexp.MustCompile(`(?m)^refused: 400 content_blocked: \S`),
	} {
		if !want.Match(out) {
			t.Errorf("output has no line matching %s:\n%s", want, out)
		}
	}
}

// TestQuickstartExample runs examples/quickstart.yaml as written, in front
// of the simulator at its default address.
func TestQuickstartExample(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:8000")
	if err != nil {
		t.Skipf("the simulator's default address 127.0.0.1:8000 is taken: %v", err)
	}
	srv := &http.Server{Handler: sim.New(sim.Options{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t.Chdir(t.TempDir()) // data_dir is relative
	cfg, _ := filepath.Abs(filepath.Join(origWD(t), "../../examples/quickstart.yaml"))
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"-c", cfg, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, io.Discard, pw)
		pw.Close()
	}()
	addr := ""
	sc := bufio.NewScanner(pr)
	for addr == "" && sc.Scan() {
		if m := regexp.MustCompile(`listen=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if addr == "" {
		t.Fatalf("serve did not report its address: %v", <-done)
	}
	client := openai.NewClient(option.WithBaseURL("http://"+addr+"/v1"),
		option.WithAPIKey("rampart-quickstart-key-change-me"), option.WithMaxRetries(0))
	s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:    "deepseek-reasoner",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
	})
	n := 0
	for s.Next() {
		n++
	}
	if s.Err() != nil || n == 0 {
		t.Fatalf("stream through the quickstart: %v after %d chunks", s.Err(), n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
}

var wd, _ = os.Getwd()

func origWD(*testing.T) string { return wd }
