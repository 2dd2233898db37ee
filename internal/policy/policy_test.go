package policy

import (
	"testing"

	"github.com/rampart-gw/rampart/internal/record"
)

func TestCompileRejects(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "request.model +", "request.model", "nosuchvar == 1", "1 + 1"} {
		if _, err := Compile(src); err == nil {
			t.Errorf("Compile(%q) accepted", src)
		}
	}
}

func TestEval(t *testing.T) {
	t.Parallel()
	in := Input{
		Principal: record.Principal{Kind: "api_key", ID: "k1", Team: "finance"},
		Model:     "deepseek-reasoner",
		Verdicts:  []record.Verdict{{Stage: "dlp", Rule: "EMAIL_ADDRESS", Action: "mask"}},
		Headers:   map[string]string{"x-data-class": "internal"},
	}
	tests := []struct {
		src  string
		want bool
	}{
		{`request.dlp.findings.size() > 0`, true},
		{`"CREDIT_CARD" in request.dlp.findings`, false},
		{`principal.team == "finance"`, true},
		{`principal.team == "sales"`, false},
		{`request.model.startsWith("deepseek")`, true},
		{`headers["x-data-class"] == "internal"`, true},
		{`"x-missing" in headers && headers["x-missing"] == "a"`, false},
		{`request.guards.verdicts.size() > 0`, false},
	}
	for _, tt := range tests {
		e, err := Compile(tt.src)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tt.src, err)
		}
		got, err := e.Eval(in)
		if err != nil || got != tt.want {
			t.Errorf("%s = %v, %v; want %v", tt.src, got, err, tt.want)
		}
	}
	// A missing key is an error, for the caller to fail closed.
	e, _ := Compile(`headers["x-missing"] == "a"`)
	if _, err := e.Eval(in); err == nil {
		t.Error("a missing header was not an error")
	}
}

func BenchmarkEval(b *testing.B) {
	e, _ := Compile(`request.dlp.findings.size() > 0 || principal.team == "finance"`)
	in := Input{Principal: record.Principal{Team: "eng"}, Verdicts: []record.Verdict{{Stage: "dlp", Rule: "EMAIL_ADDRESS"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(in); err != nil {
			b.Fatal(err)
		}
	}
}
