package e2e_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/sim"
)

// chromiumEnv names the Chromium binary for the dashboard's browser test;
// when it is set the browser must work, when it is not the test looks for
// chromium in PATH and skips without it.
const chromiumEnv = "RAMPART_TEST_CHROMIUM"

// TestDashboardInBrowser loads the dashboard in headless Chromium from a
// running gateway and reads the page as the script left it: the recent
// requests are there, and a model name that is an HTML payload is shown
// as text, not run.
func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	bin := os.Getenv(chromiumEnv)
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Skipf("chromium is not installed; set %s to run the dashboard's browser test", chromiumEnv)
		}
	}
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	resp, _ := e.post("/v1/chat/completions", chatBody("deepseek-chat", false, ""))
	okID := resp.Header.Get("X-Request-Id")
	const payload = `<img src=x onerror="document.title='pwned'">`
	body, _ := json.Marshal(map[string]any{"model": payload, "messages": []map[string]string{{"role": "user", "content": "hi"}}})
	resp, _ = e.post("/v1/chat/completions", string(body))
	if resp.StatusCode != 404 || okID == "" {
		t.Fatalf("setup: the payload model got %d, the chat's id is %q", resp.StatusCode, okID)
	}
	waitFor(t, 10*time.Second, func() bool {
		rows, _ := e.auditRows("model=" + url.QueryEscape(payload))
		return len(rows) == 1
	})

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000", "--dump-dom", e.admin+"/ui/")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	for _, want := range []string{okID, "deepseek-chat", "404 model_not_found", "Updated ", "&lt;img src=x onerror=", "sim</td>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page has no %q:\n%s", want, dom)
		}
	}
	if strings.Contains(dom, "pwned") && !strings.Contains(dom, "document.title='pwned'\"&gt;") {
		t.Errorf("the payload ran:\n%s", dom)
	}
	if strings.Contains(dom, "<img") {
		t.Errorf("the payload became an element:\n%s", dom)
	}
}
