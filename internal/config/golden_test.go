package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// testEnv is the fixed environment every test parses with.
var testEnv = map[string]string{
	"DEEPSEEK_API_KEY": "sk-deepseek-secret-0001",
	"ADMIN_TOKEN":      "admin-token-secret-0002",
	"PG_PASSWORD":      "pg-password-secret-0003",
	"CI_KEY":           "ci-static-key-secret-0004",
	"EMPTY":            "",
}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

// secretValues are the secrets in testdata/redact_secrets.yaml, after
// expansion, that no redacted dump may contain.
var secretValues = []string{
	"sk-deepseek-secret-0001",
	"admin-token-secret-0002",
	"pg-password-secret-0003",
	"ci-static-key-secret-0004",
	"batch-key-c2VjcmV0LXZhbHVlLTI",
	"org-header-secret-9911",
	"proxy-url-password-77",
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// TestGoldenErrors parses each testdata/*.yaml that is not a redaction case
// and compares what `rampart check` would print with its .golden file.
func TestGoldenErrors(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, file := range files {
		base := filepath.Base(file)
		if strings.HasPrefix(base, "redact_") {
			continue
		}
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(data, base, lookupTestEnv)
			if err == nil || c != nil {
				t.Fatalf("Parse(%s) = %v, %v; want only an error", base, c, err)
			}
			checkGolden(t, strings.TrimSuffix(base, ".yaml")+".golden", []byte(FormatErrors(err)))
		})
	}
}

// TestManyErrorsReportsEachKind makes sure the many-errors file reports every
// kind of problem it was written to hold, independently of the golden file.
func TestManyErrorsReportsEachKind(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "many_errors.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse(data, "many_errors.yaml", lookupTestEnv)
	out := FormatErrors(err)
	for _, want := range []string{
		`many_errors.yaml:15: upstreams.deepseek.timout: unknown field (did you mean "timeouts"?)`,
		`many_errors.yaml:4: listen.read_header_timeout: duration 10 has no unit`,
		`routes[0].upstreams[1]: unknown upstream "r1-local"`,
		`upstreams.r1-vllm.url: required`,
		`upstreams.r1-vllm.flavor: must be deepseek, vllm, sglang, ollama or openai, not "llama"`,
		`listen.trusted_proxies[1]: invalid CIDR "192.168.1.300/24"`,
		`admin.addr: "0.0.0.0:9090" is not a loopback address: set admin.token`,
		`upstreams.ollama.url: environment variable OLLAMA_URL is not set`,
		`routes[1].name: duplicate route name "reasoner"`,
		`auth.static_keys[0].key: too short`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestGoldenRedaction dumps a configuration full of secrets and checks the
// dump against its golden file and, independently, for every secret value.
func TestGoldenRedaction(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "redact_secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, "redact_secrets.yaml", lookupTestEnv)
	if err != nil {
		t.Fatalf("Parse: %s", FormatErrors(err))
	}
	out, err := c.MarshalYAMLRedacted()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "redact_secrets.golden", out)
	for _, s := range secretValues {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("redacted dump contains secret %q", s)
		}
	}
	// The secrets must still be in the original, or the test proves nothing.
	full, err := yamlMarshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secretValues {
		if !bytes.Contains(full, []byte(s)) {
			t.Errorf("unredacted dump lacks %q: the input no longer holds that secret", s)
		}
	}
	for _, keep := range []string{"/etc/rampart/tls/server.key", "/etc/rampart/client.key", "db.internal:5432", "proxyuser"} {
		if !bytes.Contains(out, []byte(keep)) {
			t.Errorf("redacted dump lost non-secret %q", keep)
		}
	}
}
