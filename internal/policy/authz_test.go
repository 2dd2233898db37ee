package policy

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/record"
)

func TestCompileConditionRejects(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"", "  ", "request.model +", "request.model", "nosuchvar == 1", "1 + 1",
		`headers["x"] == "a"`, // headers are not part of authorization
	} {
		if _, err := CompileCondition(src); err == nil {
			t.Errorf("CompileCondition(%q) accepted", src)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("CompileCondition(%q): multi-line error %q", src, err)
		}
	}
}

func TestNewAuthzRejects(t *testing.T) {
	t.Parallel()
	ok := RuleSpec{Name: "r", Action: "allow", When: "true"}
	tests := []struct {
		name, mode, def string
		rules           []RuleSpec
		want            string
	}{
		{"mode", "first", "", []RuleSpec{ok}, "mode"},
		{"default", "", "maybe", []RuleSpec{ok}, "default"},
		{"no name", "", "", []RuleSpec{{Action: "allow", When: "true"}}, "rules[0]: name"},
		{"action", "", "", []RuleSpec{ok, {Name: "x", Action: "permit", When: "true"}}, "rules[1] (x): action"},
		{"when", "", "", []RuleSpec{{Name: "x", Action: "deny", When: "request.modl == 1 +"}}, "rules[0] (x): when"},
	}
	for _, tt := range tests {
		_, err := NewAuthz(tt.mode, tt.def, tt.rules)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want it to name %q", tt.name, err, tt.want)
		}
	}
}

// clientCert returns a connection state with a verified client
// certificate.
func clientCert() *tls.ConnectionState {
	u, _ := url.Parse("spiffe://corp/ns/batch/sa/etl")
	leaf := &x509.Certificate{
		Subject:      pkix.Name{CommonName: "etl", Organization: []string{"Corp"}},
		Issuer:       pkix.Name{CommonName: "corp-ca"},
		DNSNames:     []string{"etl.corp"},
		URIs:         []*url.URL{u},
		SerialNumber: big.NewInt(0xabc),
		NotAfter:     time.Now().Add(48 * time.Hour),
	}
	return &tls.ConnectionState{
		Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, NegotiatedProtocol: "h2",
		VerifiedChains: [][]*x509.Certificate{{leaf}},
	}
}

func TestConditionFields(t *testing.T) {
	t.Parallel()
	in := &AuthzInput{
		Principal: &record.Principal{Kind: "jwt", ID: "alice", Name: "Alice", Team: "research", Scopes: []string{"llm:reason"}},
		Model:     "deepseek-reasoner", Route: "r1", Endpoint: "chat", Stream: true, MaxTokens: 4096, Tools: true,
		ClientIP: "10.1.2.3", TLS: clientCert(),
	}
	plain := &AuthzInput{Principal: &record.Principal{Kind: "api_key", ID: "k1"}, ClientIP: "192.0.2.7", Endpoint: "chat"}
	tests := []struct {
		src         string
		want, plain bool
	}{
		{`principal.method == "jwt" && principal.kind == "jwt"`, true, false},
		{`principal.subject == "alice" && principal.id == "alice" && principal.name == "Alice"`, true, false},
		{`principal.team == "research"`, true, false},
		{`"llm:reason" in principal.scopes`, true, false},
		{`principal.scopes.size() == 0`, false, true},
		{`request.model.startsWith("deepseek-r")`, true, false},
		{`request.route == "r1" && request.endpoint == "chat"`, true, false},
		{`request.stream && request.tools && request.max_tokens > 1000`, true, false},
		{`cidr("10.0.0.0/8").containsIP(connection.client_ip)`, true, false},
		{`ip(connection.client_ip).family() == 4`, true, true},
		{`connection.tls && connection.tls_version == "1.3"`, true, false},
		{`connection.cipher == "TLS_AES_128_GCM_SHA256" && connection.alpn == "h2"`, true, false},
		{`connection.client_cert.present`, true, false},
		{`connection.client_cert.spiffe_id == "spiffe://corp/ns/batch/sa/etl"`, true, false},
		{`connection.client_cert.subject == "etl" && connection.client_cert.issuer == "corp-ca"`, true, false},
		{`"etl.corp" in connection.client_cert.dns && connection.client_cert.serial == "abc"`, true, false},
		{`connection.client_cert.subject_dn.contains("O=Corp")`, true, false},
		{`connection.client_cert.not_after > timestamp("2000-01-01T00:00:00Z")`, true, false},
	}
	for _, tt := range tests {
		c, err := CompileCondition(tt.src)
		if err != nil {
			t.Fatalf("CompileCondition(%q): %v", tt.src, err)
		}
		if got, err := c.Eval(in); err != nil || got != tt.want {
			t.Errorf("%s = %v, %v; want %v", tt.src, got, err, tt.want)
		}
		if got, err := c.Eval(plain); err != nil || got != tt.plain {
			t.Errorf("plain: %s = %v, %v; want %v", tt.src, got, err, tt.plain)
		}
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	rules := []RuleSpec{
		{Name: "interns-no-reasoner", Action: "deny", When: `principal.team == "interns" && request.model == "deepseek-reasoner"`},
		{Name: "staff", Action: "allow", When: `principal.team in ["interns", "research"]`},
		{Name: "no-tools-for-research", Action: "deny", When: `principal.team == "research" && request.tools`},
		{Name: "broken", Action: "deny", When: `ip(principal.id).family() == 4`},
	}
	in := func(team, model string, tools bool) *AuthzInput {
		return &AuthzInput{Principal: &record.Principal{Team: team, ID: "x"}, Model: model, Tools: tools}
	}
	first, err := NewAuthz("", "", rules)
	if err != nil {
		t.Fatal(err)
	}
	overrides, err := NewAuthz(DenyOverrides, "allow", rules[:3])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		a         *Authz
		in        *AuthzInput
		allow     bool
		rule      string
		wantError bool
	}{
		{"first: deny rule first", first, in("interns", "deepseek-reasoner", false), false, "interns-no-reasoner", false},
		{"first: allow", first, in("interns", "deepseek-chat", false), true, "staff", false},
		// First match: the allow rule wins over the later deny.
		{"first: earlier allow wins", first, in("research", "deepseek-chat", true), true, "staff", false},
		// A rule that fails to evaluate and is a deny rule denies.
		{"first: failing deny rule denies", first, in("sales", "deepseek-chat", false), false, "broken", true},
		{"overrides: later deny wins", overrides, in("research", "deepseek-chat", true), false, "no-tools-for-research", false},
		{"overrides: allow", overrides, in("research", "deepseek-chat", false), true, "staff", false},
		{"overrides: default allow", overrides, in("sales", "x", true), true, "", false},
	}
	for _, tt := range tests {
		d := tt.a.Decide(tt.in)
		if d.Allow != tt.allow || d.Rule != tt.rule || (d.Err != nil) != tt.wantError {
			t.Errorf("%s: %+v; want allow=%v rule=%q error=%v", tt.name, d, tt.allow, tt.rule, tt.wantError)
		}
	}
	// Default deny when no rule holds.
	a, _ := NewAuthz("", "", rules[:1])
	if d := a.Decide(in("sales", "x", false)); d.Allow || d.Rule != "" {
		t.Errorf("default: %+v", d)
	}
	// A failing allow rule never allows.
	a, _ = NewAuthz("", "", []RuleSpec{{Name: "bad-allow", Action: "allow", When: `ip(principal.id).family() == 4`}})
	if d := a.Decide(in("sales", "x", false)); d.Allow || d.Err == nil || d.ErrRule != "bad-allow" {
		t.Errorf("failing allow: %+v", d)
	}
	// A rule over the principal only never builds the connection's facts.
	a, _ = NewAuthz("", "allow", []RuleSpec{{Name: "p", Action: "deny", When: `principal.team == "x"`}})
	act := &authzVars{in: in("y", "m", false)}
	if ok, err := a.rules[0].cond.eval(act); ok || err != nil || act.c != nil || act.r != nil {
		t.Errorf("lazy activation: ok=%v err=%v conn=%v req=%v", ok, err, act.c, act.r)
	}
}

func BenchmarkDecide(b *testing.B) {
	a, err := NewAuthz("", "allow", []RuleSpec{
		{Name: "interns", Action: "deny", When: `principal.team == "interns" && request.model.startsWith("deepseek-reasoner")`},
		{Name: "office", Action: "allow", When: `cidr("10.0.0.0/8").containsIP(connection.client_ip)`},
	})
	if err != nil {
		b.Fatal(err)
	}
	in := &AuthzInput{Principal: &record.Principal{Kind: "api_key", ID: "k1", Team: "eng"}, Model: "deepseek-chat",
		Route: "r", Endpoint: "chat", ClientIP: "10.0.0.1"}
	b.ReportAllocs()
	for b.Loop() {
		if d := a.Decide(in); !d.Allow {
			b.Fatal(d)
		}
	}
}

func TestConditionCost(t *testing.T) {
	t.Parallel()
	// Quadratic work over the scopes is refused at compile time.
	_, err := CompileCondition(`principal.scopes.all(a, principal.scopes.all(b, a.matches(b)))`)
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("costly expression: %v", err)
	}
	// Inputs beyond the estimate's sizes are evaluated with a run-time
	// limit: a linear rule still works on them.
	c, err := CompileCondition(`principal.scopes.exists(s, s == "admin")`)
	if err != nil {
		t.Fatal(err)
	}
	many := make([]string, 2*maxListSize)
	for i := range many {
		many[i] = "s"
	}
	many[len(many)-1] = "admin"
	in := &AuthzInput{Principal: &record.Principal{Scopes: many}}
	if in.fits() {
		t.Fatal("oversized input fits")
	}
	if ok, err := c.Eval(in); !ok || err != nil {
		t.Errorf("oversized input: %v, %v", ok, err)
	}
}

func FuzzCompileCondition(f *testing.F) {
	for _, s := range []string{
		`principal.team == "a"`, `request.model.startsWith("x") && !request.stream`,
		`cidr("10.0.0.0/8").containsIP(connection.client_ip)`, `connection.client_cert.present`,
		`request.max_tokens > 10`, `"a" in principal.scopes`, `ip(principal.id).family() == 4`, `(`, `"\xff"`,
	} {
		f.Add(s)
	}
	in := &AuthzInput{
		Principal: &record.Principal{Kind: "jwt", ID: "10.0.0.1", Scopes: []string{"a"}},
		Model:     "m", ClientIP: "10.0.0.1", TLS: clientCert(),
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := CompileCondition(src)
		if err != nil {
			return
		}
		_, _ = c.Eval(in) // must not panic
	})
}

// Compiling is safe from many goroutines at once (a reload and the admin
// API may compile together). cel-go shares one checker environment between
// checks and fills its symbol catalog lazily without a lock; under -race
// this test caught that before compilation was serialised.
func TestCompileConcurrently(t *testing.T) {
	t.Parallel()
	srcs := []string{
		`undeclared_name == 1`,
		`principal.scopes.exists(s, s == "admin")`,
		`request.model.startsWith("deepseek") && nope`,
		`principal.scopes.all(s, s != "")`,
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				src := srcs[(g+i)%len(srcs)]
				_, err := CompileCondition(src)
				if bad := strings.Contains(src, "undeclared") || strings.Contains(src, "nope"); bad != (err != nil) {
					t.Errorf("CompileCondition(%q): %v", src, err)
				}
				_, _ = Compile(`headers["x"] == "a" || undeclared`)
			}
		})
	}
	wg.Wait()
}
