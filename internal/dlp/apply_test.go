package dlp

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenInput holds one value of most types, so that each action's golden
// file shows how every type is rendered.
const goldenInput = `Hi, I'm reachable at jane.doe@example.com or +44 20 7946 0958.
Card 4111 1111 1111 1111, IBAN GB82WEST12345698765432, SSN 308-63-0237.
Server 86.231.85.193, born on 2/7/1961.
AWS key AKIAZ7VQX2M4TB3WJQ5N and password = "hunter2!x".
`

func TestApplyGolden(t *testing.T) {
	t.Parallel()
	for _, a := range []Action{ActionAllow, ActionLog, ActionRedact, ActionMask, ActionHash, ActionPseudonymize, ActionBlock} {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			sc := mustScanner(t, Config{HashKey: "tenant-a", Request: Policy{PII: a, Secrets: a}})
			out, fs, blocked := sc.Apply(goldenInput, Request, NewVault())
			if a == ActionAllow && len(fs) != 0 {
				t.Errorf("allow reported %d findings", len(fs))
			}
			if a != ActionAllow && len(fs) != 9 {
				t.Errorf("%s reported %d findings, want 9", a, len(fs))
			}
			if (blocked != nil) != (a == ActionBlock) {
				t.Errorf("%s: blocked = %+v", a, blocked)
			}
			checkGolden(t, filepath.Join("testdata", "golden", string(a)+".txt"), out)
		})
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if got != string(want) {
		t.Fatalf("output differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestHashIsKeyedAndStable(t *testing.T) {
	t.Parallel()
	a := mustScanner(t, Config{HashKey: "tenant-a", Request: Policy{PII: ActionHash}})
	b := mustScanner(t, Config{HashKey: "tenant-b", Request: Policy{PII: ActionHash}})
	text := "mail jane@example.com"
	outA1, _, _ := a.Apply(text, Request, nil)
	outA2, _, _ := a.Apply(text, Request, nil)
	outB, _, _ := b.Apply(text, Request, nil)
	if outA1 != outA2 {
		t.Errorf("hash not stable: %q vs %q", outA1, outA2)
	}
	if outA1 == outB {
		t.Errorf("hash not keyed: both %q", outA1)
	}
	if strings.Contains(outA1, "jane") {
		t.Errorf("hash leaked the value: %q", outA1)
	}
}

func TestPseudonymizeRoundTrip(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{Request: Policy{PII: ActionPseudonymize}})
	v := NewVault()
	in := "jane@example.com wrote to bob@example.org, then jane@example.com again"
	out, _, _ := sc.Apply(in, Request, v)
	if want := "<EMAIL_1> wrote to <EMAIL_2>, then <EMAIL_1> again"; out != want {
		t.Fatalf("request = %q, want %q", out, want)
	}
	if v.Len() != 2 {
		t.Fatalf("vault holds %d values, want 2", v.Len())
	}
	// The model answers with the placeholders; the client gets the values.
	back, _, _ := sc.Apply("Dear <EMAIL_2>, <EMAIL_1> says hi. <EMAIL_9> is unknown.", Response, v)
	if want := "Dear bob@example.org, jane@example.com says hi. <EMAIL_9> is unknown."; back != want {
		t.Fatalf("response = %q, want %q", back, want)
	}
}

func TestActionPerTypeAndDirection(t *testing.T) {
	t.Parallel()
	sc := mustScanner(t, Config{
		Request:  Policy{Types: map[string]Action{TypeCreditCard: ActionBlock}},
		Response: Policy{PII: ActionPseudonymize},
	})
	cases := []struct {
		desc string
		typ  string
		dir  Direction
		want Action
	}{
		{"type override", TypeCreditCard, Request, ActionBlock},
		{"pii default request", TypeEmail, Request, ActionMask},
		{"secret default", TypeGitHubToken, Request, ActionRedact},
		{"pseudonymize masks in responses", TypeEmail, Response, ActionMask},
		{"secret default response", TypeJWT, Response, ActionRedact},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			if got := sc.Action(tc.typ, tc.dir); got != tc.want {
				t.Fatalf("Action(%s, %d) = %s, want %s", tc.typ, tc.dir, got, tc.want)
			}
		})
	}
	_, _, blocked := sc.Apply("card 4111111111111111", Request, nil)
	if blocked == nil || blocked.Type != TypeCreditCard {
		t.Fatalf("blocked = %+v, want CREDIT_CARD", blocked)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc string
		cfg  Config
		want []string
	}{
		{"defaults are valid", Config{}, nil},
		{"unknown action", Config{Request: Policy{PII: "shred"}}, []string{`request.pii: unknown action "shred"`}},
		{"hash without key", Config{Response: Policy{Types: map[string]Action{TypeEmail: ActionHash}}}, []string{"hash_key: required"}},
		{"bad custom", Config{Custom: []CustomDetector{{Type: "lower", Pattern: "(", Validator: "crc", Score: 2}}},
			[]string{"custom[0].type", "custom[0].pattern", "custom[0].validator", "custom[0].score: 2 is outside 0..1"}},
		{"empty terms", Config{Terms: []TermDictionary{{Type: "X"}}}, []string{"terms[0].terms: required"}},
		{"lower-case terms type", Config{Terms: []TermDictionary{{Type: "x", Terms: []string{"a"}}}}, []string{`terms[0].type: "x" is not`}},
		{"terms score", Config{Terms: []TermDictionary{{Type: "X", Terms: []string{"a"}, Score: -0.5}}}, []string{"terms[0].score: -0.5 is outside 0..1"}},
		{"min score", Config{MinScore: 2}, []string{"min_score: 2 is outside 0..1"}},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New: no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
