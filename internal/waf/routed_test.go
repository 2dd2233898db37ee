package waf

import (
	"context"
	"testing"
)

// TestInspectRouted: a body whose envelope holds only the routed model is
// not handed to the rules, and the verdict is what the rules give without
// a body; any other member in the envelope, a model the route does not
// name verbatim, or a model written with escapes, and the envelope is
// inspected as before.
func TestInspectRouted(t *testing.T) {
	t.Parallel()
	w := mustDefault(t)
	ctx := context.Background()
	sqli := `1' UNION SELECT password FROM users--`
	for _, c := range []struct {
		name, body, known string
		blocked           bool
	}{
		{"chat, routed model", `{"model":"deepseek-chat","messages":[{"role":"user","content":"What does cat /etc/passwd do?"}],"stream":true}`, "deepseek-chat", false},
		// A model name the operator configured verbatim is trusted even
		// when the rules would flag it; the same name through a glob is not.
		{"odd model named verbatim", `{"model":"../../etc/passwd","messages":[]}`, "../../etc/passwd", false},
		{"odd model through a glob", `{"model":"../../etc/passwd","messages":[]}`, "", true},
		{"attack in the model, glob route", `{"model":"deepseek-` + sqli + `","messages":[]}`, "", true},
		{"attack in the model, another model named", `{"model":"deepseek-` + sqli + `","messages":[]}`, "deepseek-chat", true},
		{"attack in another member", `{"model":"deepseek-chat","user":"` + sqli + `","messages":[]}`, "deepseek-chat", true},
		{"attack in a tool name", `{"model":"deepseek-chat","tools":[{"type":"function","function":{"name":"` + sqli + `"}}]}`, "deepseek-chat", true},
		{"model written with an escape", `{"model":"deepseek\u002d` + sqli + `"}`, "deepseek-" + sqli, true},
	} {
		r := chatRequest([]byte(c.body))
		v, err := w.InspectRouted(ctx, r, []byte(c.body), ScopeEnvelope, c.known)
		if err != nil || v.Blocked != c.blocked {
			t.Errorf("%s: blocked %v (rules %v), err %v; want blocked %v", c.name, v.Blocked, v.RuleIDs, err, c.blocked)
		}
	}
}

func TestOnlyModel(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env, model string
		want       bool
	}{
		{`{"model":"deepseek-chat"}`, "deepseek-chat", true},
		{`{"model":"deepseek-chat"}`, "deepseek-reasoner", false},
		{`{"model":"deepseek-chat","user":"x"}`, "deepseek-chat", false},
		{`{"model":"a\"b"}`, `a"b`, false},
		{`{"model":"a\\b"}`, `a\b`, false},
		{`{"model":""}`, "", true},
		{``, "x", false},
	} {
		if got := onlyModel([]byte(c.env), c.model); got != c.want {
			t.Errorf("onlyModel(%s, %q) = %v", c.env, c.model, got)
		}
	}
}
