package waf

import (
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	var c Config
	c.SetDefaults()
	want := Config{Mode: ModeBlock, Paranoia: 1, InboundThreshold: 5, InspectBody: ScopeEnvelope, BodyLimit: 1 << 20}
	if !equalConfig(c, want) {
		t.Fatalf("defaults %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func equalConfig(a, b Config) bool {
	return a.Enabled == b.Enabled && a.Mode == b.Mode && a.Paranoia == b.Paranoia &&
		a.InboundThreshold == b.InboundThreshold && a.InspectBody == b.InspectBody && a.BodyLimit == b.BodyLimit
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		cfg  Config
		want string // a substring of the error; empty for none
	}{
		{"defaults", Config{}, ""},
		{"detect mode", Config{Mode: ModeDetect}, ""},
		{"unknown mode", Config{Mode: "log"}, "mode:"},
		{"paranoia too high", Config{Paranoia: 5}, "paranoia:"},
		{"negative threshold", Config{InboundThreshold: -1}, "inbound_threshold:"},
		{"unknown scope", Config{InspectBody: "contents"}, "inspect_body:"},
		{"body limit too large", Config{BodyLimit: 1 << 30}, "body_limit:"},
		{"ID exclusion", Config{Exclusions: []string{"920350"}}, ""},
		{"range exclusion", Config{Exclusions: []string{"942100-942199"}}, ""},
		{"tag exclusion", Config{Exclusions: []string{"tag:attack-sqli"}}, ""},
		{"reversed range", Config{Exclusions: []string{"942199-942100"}}, "exclusions[0]: range"},
		{"not an ID", Config{Exclusions: []string{"sqli"}}, "exclusions[0]:"},
		{"directive injection in a tag", Config{Exclusions: []string{"tag:x\nSecRuleEngine Off"}}, "exclusions[0]:"},
		{"directive injection in an ID", Config{Exclusions: []string{"1 \nSecRuleEngine Off"}}, "exclusions[0]:"},
		{"empty file path", Config{RuleFiles: []string{" "}}, "rule_files[0]:"},
		{"glob file path", Config{SetupFiles: []string{"rules/*.conf"}}, "setup_files[0]:"},
		{"every problem at once", Config{Mode: "x", Paranoia: 9}, "paranoia:"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			c := tc.cfg
			c.SetDefaults()
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFingerprintAndReuse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.conf")
	write(t, rules, `SecRule ARGS:probe "@streq yes" "id:10001,phase:1,deny,log,msg:'probe'"`+"\n")
	cfg := Config{Enabled: true, RuleFiles: []string{rules}}
	old := mustNew(t, cfg)

	key, err := Fingerprint(cfg)
	if err != nil || key != old.Key() || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(key) {
		t.Fatalf("Fingerprint = %q, %v; Key = %q", key, err, old.Key())
	}
	same, err := Reuse(old, cfg, slog.New(slog.DiscardHandler))
	if err != nil || same != old {
		t.Fatalf("Reuse of an unchanged config built a new WAF (%v)", err)
	}

	// Defaults spelt out are the same configuration.
	explicit := cfg
	explicit.SetDefaults()
	if k, _ := Fingerprint(explicit); k != key {
		t.Errorf("explicit defaults change the fingerprint")
	}

	write(t, rules, `SecRule ARGS:probe "@streq no" "id:10001,phase:1,deny,log,msg:'probe'"`+"\n")
	changed, err := Reuse(old, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { changed.Close() })
	if changed == old || changed.Key() == key {
		t.Fatal("Reuse kept the WAF although a rule file changed")
	}
	cfg.Paranoia = 2
	if k, _ := Fingerprint(cfg); k == changed.Key() {
		t.Error("paranoia does not change the fingerprint")
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSecLangErrors checks that a broken rule file is reported with its
// path and the line where the broken directive starts.
func TestSecLangErrors(t *testing.T) {
	t.Parallel()
	good := `# custom rules
SecRule REQUEST_HEADERS:X-Probe "@streq 1" \
    "id:10001,phase:1,pass,log,msg:'probe'"
`
	tests := []struct {
		desc  string
		setup string // content of a setup file; empty for none
		rules string // content of a rule file
		file  string // "setup" or "rules": where the error is
		line  int
	}{
		{"unknown directive", "", good + "\nSecRuleEngin On\n", "rules", 5},
		{"bad operator in a continued rule", "", good + `SecRule ARGS "@nosuchop x" \
    "id:10002,phase:2,deny"
`, "rules", 4},
		{"duplicate rule ID", "", good + `SecRule ARGS "@rx a" "id:10001,phase:2,pass"` + "\n", "rules", 4},
		{"error in a setup file", "\n\nSecAction \"id:10003,phase:1,nosuchaction\"\n", good, "setup", 3},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := Config{Enabled: true}
			paths := map[string]string{}
			if tc.setup != "" {
				paths["setup"] = filepath.Join(dir, "setup.conf")
				write(t, paths["setup"], tc.setup)
				cfg.SetupFiles = []string{paths["setup"]}
			}
			paths["rules"] = filepath.Join(dir, "rules.conf")
			write(t, paths["rules"], tc.rules)
			cfg.RuleFiles = []string{paths["rules"]}

			_, err := New(cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			want := paths[tc.file] + ":" + strconv.Itoa(tc.line) + ": "
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not name %q", err, want)
			}
		})
	}
}

func TestMissingRuleFile(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Enabled: true, RuleFiles: []string{filepath.Join(t.TempDir(), "absent.conf")}}, nil)
	if err == nil || !strings.Contains(err.Error(), "rule_files[0]") {
		t.Fatalf("error %v, want one naming rule_files[0]", err)
	}
}

func TestSplitDirectives(t *testing.T) {
	t.Parallel()
	src := "# comment\n\nSecRuleEngine On\nSecRule ARGS \"@rx a\" \\\n  \"id:1,\\\n  pass\"\n   \nSecDataset x `\na\nb\n`\nSecAction \"id:2\""
	ds := splitDirectives([]byte(src))
	lines := make([]int, len(ds))
	for i, d := range ds {
		lines[i] = d.line
	}
	if want := []int{3, 4, 8, 12}; !slices.Equal(lines, want) {
		t.Fatalf("directive lines %v, want %v", lines, want)
	}
	if ds[len(ds)-1].end != len(src) {
		t.Errorf("last directive ends at %d, want %d", ds[len(ds)-1].end, len(src))
	}
	if got := src[:ds[0].end]; got != "# comment\n\nSecRuleEngine On\n" {
		t.Errorf("first directive prefix %q", got)
	}
}
