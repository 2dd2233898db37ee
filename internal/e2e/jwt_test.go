package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/rampart-gw/rampart/internal/sim"
)

// jwtIssuer is a loopback OIDC issuer with one ES256 key.
type jwtIssuer struct {
	url string
	key *ecdsa.PrivateKey
}

func newJWTIssuer(t *testing.T) *jwtIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &jwtIssuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.url, "jwks_uri": is.url + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	is.url = srv.URL
	return is
}

// token signs claims over the defaults: a valid token for audience
// rampart, subject alice, team ml.
func (is *jwtIssuer) token(t *testing.T, override map[string]any) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{"iss": is.url, "aud": "rampart", "sub": "alice", "team": "ml",
		"groups": []string{"chat"}, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range override {
		claims[k] = v
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: is.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestJWTClient(t *testing.T) {
	t.Parallel()
	is := newJWTIssuer(t)
	upstream := httptest.NewServer(sim.New(sim.Options{}))
	t.Cleanup(upstream.Close)
	yaml := fmt.Sprintf(`listen: {addr: 127.0.0.1:0}
admin: {addr: 127.0.0.1:0}
data_dir: %s
auth:
  api_keys: false
  static_keys: [{name: test, team: qa, key: %s}]
  methods: [api_key, jwt]
  jwt:
    - issuer: %s
      discovery: true
      audiences: [rampart]
      algorithms: [ES256]
      claims: {subject: sub, team: team, scopes: groups}
upstreams:
  sim:
    url: %s/v1
    flavor: deepseek
routes:
  - name: all
    models: ["*"]
    upstreams: [sim]
    reasoning: pass
`, t.TempDir(), testKey, is.url, upstream.URL)
	e := (&env{t: t, logs: &syncBuffer{}}).run(yaml, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	client := openai.NewClient(option.WithBaseURL(e.base+"/v1"), option.WithAPIKey(is.token(t, nil)), option.WithMaxRetries(0))
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "deepseek-chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	})
	if err != nil {
		t.Fatalf("chat with a valid JWT: %v", err)
	}
	if len(resp.Choices) == 0 || resp.Choices[0].Message.Content == "" {
		t.Fatalf("empty answer: %+v", resp)
	}
	// The static key keeps working next to JWTs.
	if _, err := e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "deepseek-chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}); err != nil {
		t.Fatalf("chat with the static key: %v", err)
	}

	bad := []struct {
		desc  string
		token string
	}{
		{"expired", is.token(t, map[string]any{"exp": time.Now().Add(-5 * time.Minute).Unix()})},
		{"wrong audience", is.token(t, map[string]any{"aud": "someone-else"})},
		{"wrong issuer", is.token(t, map[string]any{"iss": "https://evil.example"})},
	}
	var message string
	for _, b := range bad {
		c := openai.NewClient(option.WithBaseURL(e.base+"/v1"), option.WithAPIKey(b.token), option.WithMaxRetries(0))
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "deepseek-chat",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: err = %v, want 401", b.desc, err)
		}
		if !strings.HasPrefix(apiErr.Response.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("%s: WWW-Authenticate = %q", b.desc, apiErr.Response.Header.Get("WWW-Authenticate"))
		}
		if message == "" {
			message = apiErr.Message
		} else if apiErr.Message != message {
			t.Fatalf("%s: message %q differs from %q", b.desc, apiErr.Message, message)
		}
		if strings.Contains(e.logs.String(), b.token) {
			t.Fatalf("%s: the token reached the log", b.desc)
		}
	}
}
