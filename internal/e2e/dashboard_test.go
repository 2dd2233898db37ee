package e2e_test

import (
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/rampart-gw/rampart/internal/sim"
)

// TestDashboardCallsExist fetches the dashboard's script from a running
// gateway's admin listener and calls every admin API path it uses, as the
// page does: each must exist (the page must not go blank after an API
// change), and the GET ones must answer 200.
func TestDashboardCallsExist(t *testing.T) {
	t.Parallel()
	e := start(t, []upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	resp, err := http.Get(e.admin + "/ui/app.js")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /ui/app.js: %d", resp.StatusCode)
	}
	calls := regexp.MustCompile(`"(/admin/v1/[a-z]+(?:\?[^"]*)?)"`).FindAllStringSubmatch(string(js), -1)
	if len(calls) < 5 {
		t.Fatalf("found %d admin API calls in app.js, want the dashboard's five reads at least", len(calls))
	}
	for _, c := range calls {
		path := c[1]
		switch st, code := e.adminDo("GET", path, "", ""); {
		case st == 404:
			t.Errorf("GET %s: 404: the dashboard calls a path the admin API does not have", path)
		case st != 200 && st != 405:
			t.Errorf("GET %s: %d %s", path, st, code)
		}
	}
	// The kill and revive the page sends, from its own origin.
	for _, verb := range []string{"kill", "revive"} {
		st, code := e.adminDo("POST", "/admin/v1/"+verb, "", `{"target":"r","reason":"drill","actor":"dashboard"}`,
			"Content-Type", "application/json", "Sec-Fetch-Site", "same-origin")
		if st != 200 {
			t.Errorf("POST /admin/v1/%s from the dashboard: %d %s", verb, st, code)
		}
	}
}
