package e2e_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/sim"
)

// TestAuthzSDK drives the authorization rules with the official SDK: the
// team of the test key may chat with one model without streaming; the
// rest is refused with 403 before the upstream sees it, and the model list
// shows only the allowed model.
func TestAuthzSDK(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat, deepseek-reasoner", Upstreams: "sim"}},
		`authz:
  mode: deny_overrides
  default: deny
  rules:
    - {name: qa-no-stream, when: 'principal.team == "qa" && request.stream', action: deny}
    - {name: qa-chat, when: 'principal.team == "qa" && request.model == "deepseek-chat"', action: allow}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")}

	resp, err := e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "deepseek-chat", Messages: msgs})
	if err != nil || len(resp.Choices) == 0 || resp.Choices[0].Message.Content == "" {
		t.Fatalf("allowed chat: %v", err)
	}
	seen := len(e.sims["sim"].Requests())

	_, err = e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "deepseek-reasoner", Messages: msgs})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Type != "permission_error" || apiErr.Code != "permission_denied" {
		t.Fatalf("model outside the rules: %v", err)
	}
	if strings.Contains(apiErr.Message, "qa-") {
		t.Errorf("the refusal names a rule: %s", apiErr.Message)
	}

	st := e.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "deepseek-chat", Messages: msgs})
	for st.Next() {
		t.Error("a denied stream delivered a chunk")
	}
	if !errors.As(st.Err(), &apiErr) || apiErr.StatusCode != 403 {
		t.Fatalf("denied stream: %v", st.Err())
	}
	_ = st.Close()
	if n := len(e.sims["sim"].Requests()); n != seen {
		t.Errorf("the upstream saw %d denied requests", n-seen)
	}

	page, err := e.client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "deepseek-chat" {
		t.Errorf("models = %v", ids)
	}
}

// TestAuthzClientCertificate checks the connection facts rules see over a
// TLS listener that asks for client certificates: the API key
// authenticates, and only a connection presenting a certificate of the
// client CA with the expected subject, over TLS 1.3, may use the model.
func TestAuthzClientCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, serverPool := selfSigned(t, dir)
	clientCA := newPEMCA(t, "client CA")
	caFile := writePEM(t, dir, "client-ca.pem", clientCA.pem)
	e := startWith(t, startOpts{Listen: "tls: {cert_file: " + certFile + ", key_file: " + keyFile +
		", client_ca_file: " + caFile + ", client_auth: request}"},
		[]upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}},
		`authz:
  rules:
    - name: ci-runner-over-tls13
      when: 'connection.client_cert.present && connection.client_cert.subject == "ci-runner" && connection.client_cert.issuer == "client CA" && connection.tls_version == "1.3"'
      action: allow
`)
	client := func(cn string, maxVersion uint16) *http.Client {
		cfg := &tls.Config{RootCAs: serverPool, MaxVersion: maxVersion}
		if cn != "" {
			c, k := clientCA.issue(t, cn, false)
			pair, err := tls.X509KeyPair(c, k)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	for _, tt := range []struct {
		desc   string
		c      *http.Client
		status int
	}{
		{"the expected certificate over TLS 1.3", client("ci-runner", 0), 200},
		{"the expected certificate over TLS 1.2", client("ci-runner", tls.VersionTLS12), 403},
		{"another subject", client("laptop", 0), 403},
		{"no certificate", client("", 0), 403},
	} {
		resp, err := tt.c.Do(e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", false, "")))
		if err != nil {
			t.Fatalf("%s: %v", tt.desc, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.desc, resp.StatusCode, tt.status, body)
		}
	}
}

// TestAuthzReload applies new rules to a running gateway: the next request
// follows them, and a configuration with a broken rule is refused while
// the rules in force keep applying.
func TestAuthzReload(t *testing.T) {
	t.Parallel()
	rules := func(team string) string {
		return "authz:\n  rules:\n    - {name: team, when: 'principal.team == \"" + team + "\"', action: allow}\n"
	}
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, rules("qa"))
	status := func() int {
		resp, _ := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
		return resp.StatusCode
	}
	if s := status(); s != 200 {
		t.Fatalf("allowed team: %d", s)
	}
	if err := e.gw.Apply(parseConfig(t, strings.Replace(e.yaml, rules("qa"), rules("ml"), 1))); err != nil {
		t.Fatal(err)
	}
	if s := status(); s != 403 {
		t.Fatalf("after the rules changed: %d, want 403", s)
	}
	// Parsing refuses a broken rule with its path; a configuration built
	// in code that skips validation is refused by Apply.
	bad := strings.Replace(e.yaml, rules("qa"), "authz:\n  rules:\n    - {name: x, when: 'principal.team ==', action: allow}\n", 1)
	if _, err := config.Parse([]byte(bad), "e2e.yaml", func(string) (string, bool) { return "", false }); err == nil ||
		!strings.Contains(err.Error(), "authz.rules[0].when: ") {
		t.Fatalf("a broken rule: %v", err)
	}
	cfg := parseConfig(t, e.yaml)
	cfg.Authz.Rules[0].When = "principal.team =="
	if err := e.gw.Apply(cfg); err == nil || !strings.Contains(err.Error(), "authz") {
		t.Fatalf("Apply with a broken rule: %v", err)
	}
	if s := status(); s != 403 {
		t.Fatalf("the rules in force changed: %d", s)
	}
}
