package keys

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var keyLine = regexp.MustCompile(`(?m)^API key: (` + Pattern + `)\nid: ([a-z2-7]{12})$`)

// runCLI runs `rampart keys ARGS` and returns stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(t.Context(), args, &out, &errOut)
	return out.String(), err
}

func TestCLILifecycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := runCLI(t, "create", "--data", dir, "--name", "ci", "--team", "search",
		"--models", "deepseek-*, r1", "--expires", "720h")
	if err != nil {
		t.Fatal(err)
	}
	m := keyLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create output lacks the key and id lines:\n%s", out)
	}
	key, id := m[1], m[2]
	if key[3:15] != id {
		t.Errorf("id %s is not the key's id", id)
	}
	if _, err := os.Stat(filepath.Join(dir, "rampart.db")); err != nil {
		t.Errorf("store not at DIR/rampart.db: %v", err)
	}

	list, err := runCLI(t, "list", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, id) || !strings.Contains(list, "deepseek-*,r1") || !strings.Contains(list, "active") {
		t.Errorf("list lacks the key:\n%s", list)
	}
	if strings.Contains(list, key[16:]) {
		t.Error("list shows the secret")
	}

	out, err = runCLI(t, "rotate", id, "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	m2 := keyLine.FindStringSubmatch(out)
	if m2 == nil || m2[1] == key {
		t.Fatalf("rotate did not print a new key:\n%s", out)
	}
	if _, err := runCLI(t, "revoke", "--data", dir, m2[2]); err != nil {
		t.Fatal(err)
	}
	list, _ = runCLI(t, "list", "--data", dir)
	if strings.Count(list, "revoked") != 2 {
		t.Errorf("after rotate and revoke both keys should be revoked:\n%s", list)
	}
}

func TestCLIDBFlag(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "custom", "keys.db")
	if _, err := runCLI(t, "create", "--db", db, "--name", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("--db file not created: %v", err)
	}
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		desc string
		args []string
	}{
		{"no subcommand", nil},
		{"unknown subcommand", []string{"delete"}},
		{"create without name", []string{"create", "--data", dir}},
		{"create with bad name", []string{"create", "--data", dir, "--name", "a\tb"}},
		{"revoke without id", []string{"revoke", "--data", dir}},
		{"revoke two ids", []string{"revoke", "--data", dir, "a", "b"}},
		{"revoke unknown id", []string{"revoke", "--data", dir, "aaaaaaaaaaaa"}},
		{"unknown flag", []string{"list", "--nope"}},
	} {
		if _, err := runCLI(t, c.args...); err == nil {
			t.Errorf("%s: no error", c.desc)
		}
	}
	// Only create makes a store: the others, on a folder without one, say
	// so and leave no file behind.
	empty := t.TempDir()
	for _, verb := range [][]string{{"list"}, {"revoke", "aaaaaaaaaaaa"}, {"rotate", "aaaaaaaaaaaa"}} {
		_, err := runCLI(t, append(verb, "--data", empty)...)
		if err == nil || !strings.Contains(err.Error(), "no key store at") {
			t.Errorf("%s on a folder without a store: %v", verb[0], err)
		}
		if _, err := os.Stat(filepath.Join(empty, "rampart.db")); err == nil {
			t.Fatalf("%s created a store", verb[0])
		}
	}
	if _, err := runCLI(t, "help"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("help: %v, want flag.ErrHelp", err)
	}
}
