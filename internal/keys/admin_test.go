package keys

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
)

// adminServer serves AdminHandler the way the admin listener mounts it.
func adminServer(t *testing.T) (*httptest.Server, *Service) {
	t.Helper()
	s, _ := newTestService(t, Options{})
	mux := http.NewServeMux()
	h := AdminHandler(s)
	mux.Handle(AdminPath, h)
	mux.Handle(AdminPath+"/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, s
}

// call sends a request and returns the status and body.
func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return resp.StatusCode, string(b)
}

func decodeView(t *testing.T, body string) keyView {
	t.Helper()
	var v keyView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

func TestAdminLifecycle(t *testing.T) {
	t.Parallel()
	srv, s := adminServer(t)
	status, body := call(t, srv, "POST", "/admin/v1/keys",
		`{"name":"ci","team":"search","models":["r1"],"expires_in":"720h"}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	created := decodeView(t, body)
	if !LooksLikeKey(created.Key) || created.ID != created.Key[3:15] || created.Status != "active" ||
		created.ExpiresAt == nil || created.ExpiresAt.Sub(created.CreatedAt) != 720*time.Hour {
		t.Fatalf("create answer: %s", body)
	}
	if _, err := s.Verify(t.Context(), created.Key); err != nil {
		t.Fatalf("created key does not verify: %v", err)
	}

	status, body = call(t, srv, "GET", "/admin/v1/keys", "")
	if status != 200 || !strings.Contains(body, created.ID) {
		t.Fatalf("list: %d %s", status, body)
	}
	secret := created.Key[16:]
	if strings.Contains(body, secret) || strings.Contains(body, `"key"`) || strings.Contains(body, "hash") {
		t.Errorf("list leaks key material: %s", body)
	}
	status, body = call(t, srv, "GET", "/admin/v1/keys/"+created.ID, "")
	if status != 200 || strings.Contains(body, secret) || decodeView(t, body).Name != "ci" {
		t.Errorf("get: %d %s", status, body)
	}

	status, body = call(t, srv, "POST", "/admin/v1/keys/"+created.ID+"/rotate", "")
	rotated := decodeView(t, body)
	if status != 200 || !LooksLikeKey(rotated.Key) || rotated.ID == created.ID || rotated.Team != "search" {
		t.Fatalf("rotate: %d %s", status, body)
	}
	status, body = call(t, srv, "POST", "/admin/v1/keys/"+rotated.ID+"/revoke", "")
	if v := decodeView(t, body); status != 200 || v.Status != "revoked" || v.RevokedAt == nil || v.Key != "" {
		t.Errorf("revoke: %d %s", status, body)
	}
}

func TestAdminErrors(t *testing.T) {
	t.Parallel()
	srv, _ := adminServer(t)
	missing := "/admin/v1/keys/aaaaaaaaaaaa"
	for _, c := range []struct {
		desc, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown member", "POST", "/admin/v1/keys", `{"name":"a","admin":true}`, 400, "invalid_json"},
		{"not json", "POST", "/admin/v1/keys", `name=a`, 400, "invalid_json"},
		{"trailing data", "POST", "/admin/v1/keys", `{"name":"a"} {}`, 400, "invalid_json"},
		{"duplicate member", "POST", "/admin/v1/keys", `{"name":"a","name":"b"}`, 400, "invalid_json"},
		{"missing name", "POST", "/admin/v1/keys", `{"team":"a"}`, 400, "missing_name"},
		{"bad expiry", "POST", "/admin/v1/keys", `{"name":"a","expires_in":"soon"}`, 400, "invalid_expires_in"},
		{"negative expiry", "POST", "/admin/v1/keys", `{"name":"a","expires_in":-5}`, 400, "invalid_expires_in"},
		{"bad glob", "POST", "/admin/v1/keys", `{"name":"a","models":["[x"]}`, 400, "invalid_key_settings"},
		{"too large", "POST", "/admin/v1/keys", `{"name":"` + strings.Repeat("a", maxAdminBody) + `"}`, 413, "body_too_large"},
		{"wrong method", "DELETE", "/admin/v1/keys", "", 405, "method_not_allowed"},
		{"get on revoke", "GET", missing + "/revoke", "", 405, "method_not_allowed"},
		{"unknown id", "GET", missing, "", 404, "key_not_found"},
		{"revoke unknown", "POST", missing + "/revoke", "", 404, "key_not_found"},
		{"rotate unknown", "POST", missing + "/rotate", "", 404, "key_not_found"},
		{"malformed id", "GET", "/admin/v1/keys/..%2f", "", 404, "key_not_found"},
		{"unknown action", "POST", missing + "/delete", "", 404, "key_not_found"},
	} {
		status, body := call(t, srv, c.method, c.path, c.body)
		if status != c.status || !strings.Contains(body, `"code":"`+c.code+`"`) || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("%s: %d %s, want %d %s", c.desc, status, body, c.status, c.code)
		}
	}
}

func TestAdminRotateRevokedIsConflict(t *testing.T) {
	t.Parallel()
	srv, s := adminServer(t)
	_, rec := mustCreate(t, s, CreateInput{Name: "k"})
	if err := s.Revoke(t.Context(), rec.ID); err != nil {
		t.Fatal(err)
	}
	status, body := call(t, srv, "POST", "/admin/v1/keys/"+rec.ID+"/rotate", "")
	if status != http.StatusConflict || !strings.Contains(body, "key_revoked") {
		t.Errorf("rotate revoked: %d %s", status, body)
	}
}

func TestParseExpiresIn(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		desc, in string
		want     time.Duration
		ok       bool
	}{
		{"absent", ``, 0, true},
		{"null", `null`, 0, true},
		{"duration", `"36h"`, 36 * time.Hour, true},
		{"seconds", `3600`, time.Hour, true},
		{"fraction", `1.5`, 0, false},
		{"huge", `1e30`, 0, false},
		{"bool", `true`, 0, false},
		{"bad string", `"tomorrow"`, 0, false},
		{"negative duration", `"-1h"`, 0, false},
	} {
		got, err := parseExpiresIn([]byte(c.in))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%s: parseExpiresIn(%s) = %v, %v", c.desc, c.in, got, err)
		}
	}
}

func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"name":"ci","team":"search","models":["r1","deepseek-*"],"expires_in":"720h"}`,
		`{"name":"a","expires_in":3600}`,
		`{"name":"a","expires_in":null}`,
		`{"name":""}`, `{}`, `[]`, `null`, `{"name":"a"}x`, `{"models":[1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := decodeCreate(bytes.NewReader(data))
		if err != nil {
			return
		}
		if in.Name == "" || in.ExpiresIn < 0 {
			t.Fatalf("accepted %q as %+v", data, in)
		}
		_ = in.validate()
	})
}
