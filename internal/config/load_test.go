package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadQuickstart(t *testing.T) {
	t.Parallel()
	c, err := Load("../../examples/quickstart.yaml")
	if err != nil {
		t.Fatalf("Load quickstart: %s", FormatErrors(err))
	}
	sim := c.Upstreams["sim"]
	if sim == nil || sim.URL != "http://127.0.0.1:8000/v1" || sim.Flavor != "deepseek" {
		t.Fatalf("quickstart upstream sim = %+v", sim)
	}
	if len(c.Auth.StaticKeys) != 1 || len(c.Auth.StaticKeys[0].Key) < MinStaticKeyLength {
		t.Errorf("quickstart static keys = %d", len(c.Auth.StaticKeys))
	}
	want := map[string]bool{"deepseek-reasoner": true, "deepseek-chat": true}
	for _, m := range c.Routes[0].Models {
		delete(want, m)
	}
	if len(want) != 0 {
		t.Errorf("quickstart route lacks models %v", want)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string { return writeTestFile(t, dir, name, body) }
	cert := write("server.crt", "pem")
	missingTLS := write("tls.yaml", minimal+"listen:\n  tls: {cert_file: "+cert+", key_file: "+filepath.Join(dir, "nope.key")+"}\n")
	bad := write("bad.yaml", minimal+"log: {level: loud}\n")
	if err := os.Mkdir(filepath.Join(dir, "ca-dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	dirCA := write("dirca.yaml", minimal+"listen:\n  tls: {cert_file: "+cert+", key_file: "+cert+", client_ca_file: "+filepath.Join(dir, "ca-dir")+"}\n")

	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		_, err := Load(filepath.Join(dir, "absent.yaml"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(absent) = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("missing TLS key", func(t *testing.T) {
		t.Parallel()
		_, err := Load(missingTLS)
		out := FormatErrors(err)
		if !strings.Contains(out, missingTLS+":8: listen.tls.key_file: cannot use file") {
			t.Errorf("got %q, want the missing key file reported with its path", out)
		}
	})
	t.Run("directory as CA", func(t *testing.T) {
		t.Parallel()
		_, err := Load(dirCA)
		if !strings.Contains(FormatErrors(err), "listen.tls.client_ca_file: not a regular file") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("validation with line", func(t *testing.T) {
		t.Parallel()
		_, err := Load(bad)
		if want := bad + ":7: log.level: must be"; !strings.HasPrefix(FormatErrors(err), want) {
			t.Errorf("got %q, want prefix %q", FormatErrors(err), want)
		}
	})
}

func TestFormatErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain error", errors.New("boom"), "boom"},
		{"file and line", &Errors{File: "c.yaml", List: []FieldError{{Path: "a.b", Line: 3, Msg: "bad"}}}, "c.yaml:3: a.b: bad\n"},
		{"file without line", &Errors{File: "c.yaml", List: []FieldError{{Path: "a", Msg: "bad"}}}, "c.yaml: a: bad\n"},
		{"no file", &Errors{List: []FieldError{{Path: "a", Line: 2, Msg: "bad"}, {Msg: "whole"}}}, "line 2: a: bad\nwhole\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if got := FormatErrors(tt.err); got != tt.want {
				t.Errorf("FormatErrors = %q, want %q", got, tt.want)
			}
		})
	}
	e := &Errors{List: []FieldError{{Path: "a", Msg: "x"}, {Path: "b", Msg: "y"}}}
	if e.Error() != "a: x\nb: y" {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	c := Demo("/tmp/rampart-demo", "http://127.0.0.1:8000/v1")
	if err := c.Validate(); err != nil {
		t.Fatalf("demo config invalid: %v", err)
	}
	up := c.Upstreams["r1-sim"]
	r := c.Routes[0]
	switch {
	case c.Listen.Addr != "127.0.0.1:8080", c.Admin.Addr != "127.0.0.1:9090":
		t.Errorf("demo listeners = %q, %q", c.Listen.Addr, c.Admin.Addr)
	case up == nil || up.Public || up.Flavor != "deepseek" || up.URL != "http://127.0.0.1:8000/v1":
		t.Errorf("demo upstream = %+v", up)
	case r.Name != "default" || r.Reasoning != "pass" || len(r.Upstreams) != 1 || r.Upstreams[0].Upstream != "r1-sim":
		t.Errorf("demo route = %+v", r)
	case c.Auth.APIKeys == nil || !*c.Auth.APIKeys:
		t.Error("demo must turn API keys on")
	case c.Store.SQLite != filepath.Join("/tmp/rampart-demo", "rampart.db"):
		t.Errorf("demo store = %q", c.Store.SQLite)
	case c.Log.Format != "text" || c.Log.Level != "info":
		// The demo logs text to a terminal; the admin API shows this section.
		t.Errorf("demo log = %+v, want text at info", c.Log)
	}
}

// TestLoadReportsEveryProblemWithFiles checks that missing files are
// reported in the same run as the other problems, not only once those are
// fixed.
func TestLoadReportsEveryProblemWithFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "missing.crt"), filepath.Join(dir, "missing.key")
	rules := filepath.Join(dir, "missing.conf")
	tests := []struct {
		desc string
		body string
		want []string
	}{
		{"TLS files and a bad URL", `
upstreams:
  sim: {url: "ftp://not-http", flavor: deepseek}
routes:
  - {models: [m], upstreams: [sim]}
listen:
  tls:
    cert_file: ` + cert + `
    key_file: ` + key + `
`, []string{
			":3: upstreams.sim.url: invalid URL",
			":8: listen.tls.cert_file: cannot use file: stat " + cert,
			":9: listen.tls.key_file: cannot use file: stat " + key,
		}},
		{"WAF rule file and a bad log level", minimal + `log: {level: loud}
waf:
  enabled: true
  rule_files: [` + rules + `]
`, []string{
			":7: log.level: must be",
			":10: waf.rule_files[0]: cannot use file: stat " + rules,
		}},
		{"WAF rule file of a route that turns the WAF on", `
upstreams:
  sim: {url: "http://127.0.0.1:8000/v1"}
routes:
  - {models: [m], upstreams: [sim], waf: {enabled: true}}
waf:
  setup_files: [` + rules + `]
`, []string{":7: waf.setup_files[0]: cannot use file"}},
	}
	for i, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, fmt.Sprintf("c%d.yaml", i))
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			out := FormatErrors(err)
			if c != nil || len(strings.Split(strings.TrimSpace(out), "\n")) != len(tt.want) {
				t.Errorf("Load = %v, problems:\n%s\nwant %d problems", c, out, len(tt.want))
			}
			for _, w := range tt.want {
				if !strings.Contains(out, path+w) {
					t.Errorf("problems:\n%s\nlack %q", out, path+w)
				}
			}
		})
	}
}

// TestLoadSkipsFilesOfAnUnusedWAF checks that the WAF's files are required
// only when the WAF is on, as the server reads them only then.
func TestLoadSkipsFilesOfAnUnusedWAF(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.yaml")
	body := minimal + "waf:\n  rule_files: [/nonexistent/rules.conf]\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Errorf("Load: %s", FormatErrors(err))
	}
}

// TestCheckCompilesWAF checks that Check compiles the WAF rules as serve
// would, and reports a SecLang error at the rule file's entry with the
// file's own line, while Load leaves compiling to the server.
func TestCheckCompilesWAF(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string { return writeTestFile(t, dir, name, body) }
	good := write("good.conf", "SecRule REQUEST_URI \"@contains /admin\" \"id:10001,phase:1,deny,status:403\"\n")
	bad := write("bad.conf", "# operator rules\nSecRule REQUEST_URI \"@contains /x\" \"id:10002,phase:1,deny\"\nSecRuel ARGS \"@rx evil\" \"id:10003,phase:2,deny\"\n")
	tests := []struct {
		desc  string
		waf   string
		route string
		want  string // a problem of Check; empty means none
	}{
		{"valid rule file", "waf:\n  enabled: true\n  rule_files: [" + good + "]\n", "", ""},
		{"SecLang error", "waf:\n  enabled: true\n  rule_files: [" + good + ", " + bad + "]\n", "",
			":9: waf.rule_files[1]: " + bad + ":3: unknown directive \"secruel\""},
		{"SecLang error in a setup file", "waf:\n  enabled: true\n  setup_files: [" + bad + "]\n", "",
			":9: waf.setup_files[0]: " + bad + ":3: unknown directive"},
		{"WAF turned on by a route", "waf:\n  rule_files: [" + bad + "]\n", "    waf: {enabled: true}\n",
			":9: waf.rule_files[0]: " + bad + ":3: unknown directive"},
		{"WAF off: rules not compiled", "waf:\n  rule_files: [" + bad + "]\n", "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			path := write(fmt.Sprintf("c%d.yaml", i), minimal+tt.route+tt.waf)
			if _, err := Load(path); err != nil {
				t.Errorf("Load: %s", FormatErrors(err))
			}
			_, err := Check(path)
			out := FormatErrors(err)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check: %s", out)
				}
				return
			}
			if !strings.Contains(out, path+tt.want) {
				t.Errorf("Check problems:\n%s\nwant %q", out, path+tt.want)
			}
		})
	}
}

// writeTestFile writes body to dir/name and returns the path.
func writeTestFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
