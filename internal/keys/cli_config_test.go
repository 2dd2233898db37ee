package keys

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-gw/rampart/internal/pgtest"
)

// writeConfig writes a minimal valid configuration with the given store
// lines and returns its path.
func writeConfig(t *testing.T, dataDir, storeYAML string) string {
	t.Helper()
	y := fmt.Sprintf("data_dir: %s\n%supstreams:\n  sim: {url: \"http://127.0.0.1:8000/v1\"}\nroutes:\n  - {name: r, models: [deepseek-chat], upstreams: [sim]}\n", dataDir, storeYAML)
	p := filepath.Join(t.TempDir(), "rampart.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCLIConfigFlag: with -c the keys go to the store the configuration
// names: the data folder's SQLite file, and PostgreSQL when store.postgres
// is set (when RAMPART_TEST_POSTGRES names a database).
func TestCLIConfigFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "")
	out, err := runCLI(t, "create", "-c", cfg, "--name", "from-config")
	if err != nil {
		t.Fatal(err)
	}
	m := keyLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "rampart.db")); err != nil {
		t.Fatalf("the key did not go to the configuration's data folder: %v", err)
	}
	if list, err := runCLI(t, "list", "--data", dir); err != nil || !strings.Contains(list, m[2]) {
		t.Fatalf("the key is not in the data folder's store: %v\n%s", err, list)
	}
	if _, err := runCLI(t, "list", "-c", filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing configuration file was accepted")
	}

	if os.Getenv(pgtest.Env) == "" {
		t.Logf("%s is not set: the PostgreSQL case is not run", pgtest.Env)
		return
	}
	_, dsn := pgtest.SchemaDSN(t, "rampart_keys_test_")
	pdir := t.TempDir()
	pcfg := writeConfig(t, pdir, fmt.Sprintf("store: {postgres: %q}\n", dsn))
	out, err = runCLI(t, "create", "-c", pcfg, "--name", "shared")
	if err != nil {
		t.Fatal(err)
	}
	m = keyLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create output:\n%s", out)
	}
	if list, err := runCLI(t, "list", "-c", pcfg); err != nil || !strings.Contains(list, m[2]) {
		t.Fatalf("list through PostgreSQL: %v\n%s", err, list)
	}
	if _, err := os.Stat(filepath.Join(pdir, "rampart.db")); err == nil {
		t.Error("a SQLite store was created although store.postgres is set")
	}
}
