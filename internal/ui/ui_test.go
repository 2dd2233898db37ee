package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Result()
}

func TestFilesAndHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, status, contentType string
	}{
		{"/ui/", "200 OK", "text/html; charset=utf-8"},
		{"/ui/app.js", "200 OK", "text/javascript; charset=utf-8"},
		{"/ui/app.css", "200 OK", "text/css; charset=utf-8"},
		{"/ui/nothing.js", "404 Not Found", ""},
		{"/ui", "301 Moved Permanently", ""},
	}
	for _, tc := range tests {
		resp := get(t, tc.path)
		if resp.Status != tc.status {
			t.Errorf("%s: %s, want %s", tc.path, resp.Status, tc.status)
		}
		if tc.contentType != "" && resp.Header.Get("Content-Type") != tc.contentType {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, resp.Header.Get("Content-Type"), tc.contentType)
		}
		for name, want := range map[string]string{
			"Content-Security-Policy": CSP,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-store",
		} {
			if name == "Cache-Control" && resp.StatusCode == http.StatusNotFound {
				continue // http.Error drops it; a 404 caches nothing
			}
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s: %s %q, want %q", tc.path, name, got, want)
			}
		}
	}
	if loc := get(t, "/ui").Header.Get("Location"); loc != "/ui/" {
		t.Errorf("/ui redirects to %q, want /ui/", loc)
	}
}

func body(t *testing.T, path string) string {
	t.Helper()
	b, err := io.ReadAll(get(t, path).Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPageWritesTextOnly guards the dashboard against script injection from
// the data it shows (audit records hold client-chosen strings): the script
// never parses strings as markup or code, and the page has no inline script
// or style that the CSP would have to allow.
func TestPageWritesTextOnly(t *testing.T) {
	t.Parallel()
	js := body(t, "/ui/app.js")
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "DOMParser", "srcdoc"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	html := body(t, "/ui/")
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("index.html has an inline script: %s", tag)
		}
	}
	for _, re := range []string{`<script(?:\s[^>]*)?>\s*[^<\s]`, `\sstyle=`, `\son[a-z]+=`, `<style`, `https?://`} {
		if m := regexp.MustCompile(re).FindString(html); m != "" {
			t.Errorf("index.html has %q (matching %s)", m, re)
		}
	}
}

// TestScriptParses checks app.js with node, where node is installed.
func TestScriptParses(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	out, err := exec.CommandContext(t.Context(), node, "--check", filepath.Join("static", "app.js")).CombinedOutput()
	if err != nil {
		t.Fatalf("node --check app.js: %v\n%s", err, out)
	}
}
