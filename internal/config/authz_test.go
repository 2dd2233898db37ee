package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAuthzProblems(t *testing.T) {
	t.Parallel()
	rule := func(name, when, action string) AuthzRule { return AuthzRule{Name: name, When: when, Action: action} }
	tests := []struct {
		desc  string
		authz *Authz
		path  string
		msg   string
	}{
		{"bad mode", &Authz{Mode: "any"}, "authz.mode", "first_match or deny_overrides"},
		{"bad default", &Authz{Default: "maybe"}, "authz.default", "allow or deny"},
		{"rule without name", &Authz{Rules: []AuthzRule{rule("", "true", "allow")}}, "authz.rules[0].name", "required"},
		{"duplicate names", &Authz{Rules: []AuthzRule{rule("a", "true", "allow"), rule("a", "false", "deny")}},
			"authz.rules[1].name", "also the name of rules[0]"},
		{"rule without action", &Authz{Rules: []AuthzRule{rule("a", "true", "")}}, "authz.rules[0].action", "required"},
		{"bad action", &Authz{Rules: []AuthzRule{rule("a", "true", "block")}}, "authz.rules[0].action", `not "block"`},
		{"empty condition", &Authz{Rules: []AuthzRule{rule("a", " ", "allow")}}, "authz.rules[0].when", "empty"},
		{"syntax error", &Authz{Rules: []AuthzRule{rule("a", "true", "allow"), rule("b", "true", "allow"),
			rule("c", "principal.team ==", "deny")}}, "authz.rules[2].when", "Syntax error"},
		{"unknown field", &Authz{Rules: []AuthzRule{rule("a", `principal.group == "x"`, "allow")}},
			"authz.rules[0].when", "group"},
		{"not a boolean", &Authz{Rules: []AuthzRule{rule("a", "request.max_tokens", "allow")}},
			"authz.rules[0].when", "true or false"},
		{"unknown variable", &Authz{Rules: []AuthzRule{rule("a", `user == "x"`, "allow")}},
			"authz.rules[0].when", "undeclared reference"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			c.Authz = tt.authz
			var errs *Errors
			if !errors.As(c.Validate(), &errs) {
				t.Fatalf("Validate accepted %+v", tt.authz)
			}
			for _, fe := range errs.List {
				if fe.Path == tt.path && strings.Contains(fe.Msg, tt.msg) && !strings.Contains(fe.Msg, "\n") {
					return
				}
			}
			t.Errorf("problems:\n%v\nwant %s: ...%s... on one line", errs, tt.path, tt.msg)
		})
	}
}

func TestAuthzAccepted(t *testing.T) {
	t.Parallel()
	for _, a := range []*Authz{
		nil,
		{},
		{Mode: "deny_overrides", Default: "allow", Rules: []AuthzRule{{Name: "no-tools", When: "request.tools", Action: "deny"}}},
		{Mode: "first_match", Default: "deny", Rules: []AuthzRule{
			{Name: "ml", When: `principal.team == "ml" && request.model.startsWith("deepseek-")`, Action: "allow"},
			{Name: "office", When: `cidr("10.0.0.0/8").containsIP(ip(connection.client_ip))`, Action: "allow"},
			{Name: "mtls", When: `connection.client_cert.present && connection.tls_version == "1.3"`, Action: "allow"},
		}},
	} {
		c := validConfig()
		c.Authz = a
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", a, err)
		}
	}
}

// TestAuthzParse reads the section from YAML: an absent section stays nil
// (no authorization beyond the credential's models), a present one gets
// deny as its default, and a bad condition is reported at its line.
func TestAuthzParse(t *testing.T) {
	t.Parallel()
	base := "upstreams: {u: {url: http://127.0.0.1:1/v1}}\nroutes: [{models: [m], upstreams: [u]}]\n"
	c, err := Parse([]byte(base), "a.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(FormatErrors(err))
	}
	if c.Authz != nil {
		t.Errorf("no section gave %+v", c.Authz)
	}

	c, err = Parse([]byte(base+"authz:\n  rules:\n    - {name: ml, when: 'principal.team == \"ml\"', action: allow}\n"), "b.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(FormatErrors(err))
	}
	if c.Authz == nil || c.Authz.Mode != "first_match" || c.Authz.Default != "deny" || len(c.Authz.Rules) != 1 {
		t.Fatalf("section: %+v", c.Authz)
	}
	cl := c.Clone()
	cl.Authz.Rules[0].Name = "changed"
	if c.Authz.Rules[0].Name != "ml" {
		t.Error("Clone shares the rules")
	}

	bad := base + "authz:\n  rules:\n    - name: a\n      when: 'true'\n      action: allow\n    - name: b\n      when: 'request.stream &&'\n      action: deny\n"
	_, err = Parse([]byte(bad), "c.yaml", lookupTestEnv)
	out := FormatErrors(err)
	if !strings.Contains(out, "c.yaml:9: authz.rules[1].when: ") {
		t.Errorf("bad condition reported as:\n%s", out)
	}
}
