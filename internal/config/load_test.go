package config

import (
	"errors"
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
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
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
	}
}
