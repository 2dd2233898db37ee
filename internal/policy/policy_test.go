package policy

import (
	"net/http"
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

// TestEvalHTTPHeader: the variables read an http.Header in place with the
// same view as the lower-case map: first value, no Authorization; and the
// lazy maps behave as maps under iteration, size() and has().
func TestEvalHTTPHeader(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("X-Data-Class", "internal")
	h.Add("X-Data-Class", "second")
	h.Set("Authorization", "Bearer secret")
	h.Set("X-Empty", "")
	in := Input{
		Principal: record.Principal{Kind: "api_key", Team: "finance", Scopes: []string{"chat", "admin"}},
		Model:     "deepseek-reasoner",
		MaxTokens: 512,
		Verdicts: []record.Verdict{
			{Stage: "dlp", Rule: "EMAIL_ADDRESS", Action: "mask"},
			{Stage: "guard", Rule: "jailbreak", Action: "block"},
			{Stage: "guard", Rule: "harmful", Action: "pass"},
		},
		Header: h,
	}
	tests := []struct {
		src  string
		want bool
	}{
		{`headers["x-data-class"] == "internal"`, true},
		{`"x-data-class" in headers`, true},
		{`"X-Data-Class" in headers`, false},
		{`"authorization" in headers`, false},
		{`headers.size() == 2`, true},
		{`headers.exists(k, k == "x-empty")`, true},
		{`headers.all(k, k != "authorization")`, true},
		{`has(headers.x)`, false},
		{`"admin" in principal.scopes`, true},
		{`principal.scopes.size() == 2 && principal.kind == "api_key"`, true},
		{`request.max_tokens > 100 && !request.stream && !request.tools`, true},
		{`request.guards.verdicts == ["jailbreak"]`, true},
		{`request.dlp.findings == ["EMAIL_ADDRESS"]`, true},
		{`request.dlp == {"findings": ["EMAIL_ADDRESS"]}`, true},
		{`request.exists(k, k == "model")`, true},
		{`has(request.dlp.findings) && !has(request.nothing)`, true},
		{`principal.size() == 5`, true},
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
	for _, src := range []string{`headers["authorization"] == ""`, `request.nothing == 1`, `principal["x"] == "y"`} {
		e, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Eval(in); err == nil {
			t.Errorf("%s: a missing key was not an error", src)
		}
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

// BenchmarkPrivateDecision is the routing decision as the proxy makes it:
// an expression over DLP findings, the principal and a header, evaluated
// over the request's own http.Header. The budget is 5µs per request.
func BenchmarkPrivateDecision(b *testing.B) {
	e, err := Compile(`request.dlp.findings.size() > 0 || principal.team == "finance" || headers["x-data-class"] == "restricted"`)
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{}
	for _, k := range []string{"Content-Type", "Accept", "User-Agent", "X-Request-Id", "X-Data-Class", "Authorization"} {
		h.Set(k, "value")
	}
	verdicts := []record.Verdict{{Stage: "waf", Rule: "920", Action: "pass"}, {Stage: "guard", Rule: "jailbreak", Action: "pass"}}
	b.ReportAllocs()
	for b.Loop() {
		ok, err := e.Eval(Input{Principal: record.Principal{Team: "eng"}, Model: "deepseek-chat", Verdicts: verdicts, Header: h})
		if err != nil || ok {
			b.Fatal(ok, err)
		}
	}
}
