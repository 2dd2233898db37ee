package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse with a fixed environment. Parse
// must never panic, must return either a config or problems, and a config
// it returns must be valid and dump without any of the environment secrets.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + "admin:\n  token: ${ADMIN_TOKEN}\n"))
	f.Add([]byte("a: &a {<<: *a}\n"))
	f.Add([]byte("routes: [{upstreams: [x, {upstream: y, model: z}]}]\n"))
	f.Add([]byte("listen: {idle_timeout: 30, addr: \"${X:-a:1}\"}\n---\n"))
	if files, err := filepath.Glob(filepath.Join("testdata", "*.yaml")); err == nil {
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Load checks the files of a configuration decoded only in part
		// (so that they are reported with the other problems): that must
		// hold whatever the decoder left in it.
		if pc, _, _ := parse(data, "fuzz.yaml", lookupTestEnv); pc != nil {
			_ = pc.CheckFiles()
		}
		c, err := Parse(data, "fuzz.yaml", lookupTestEnv)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse returned config %v and error %v", c != nil, err)
		}
		if err != nil {
			if FormatErrors(err) == "" {
				t.Fatal("an error renders as nothing")
			}
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", verr)
		}
		out, merr := c.MarshalYAMLRedacted()
		if merr != nil {
			t.Fatalf("MarshalYAMLRedacted: %v", merr)
		}
		for _, s := range []string{testEnv["ADMIN_TOKEN"], testEnv["CI_KEY"], testEnv["DEEPSEEK_API_KEY"]} {
			if strings.Contains(string(out), s) && !strings.Contains(string(data), s) {
				t.Fatalf("redacted dump holds secret %q", s)
			}
		}
	})
}
