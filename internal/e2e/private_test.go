package e2e_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rampart-gw/rampart/internal/sim"
)

// TestSensitiveNeverReachesPublic is the property of RELIABILITY.md item
// 23: random requests, some carrying seeded personal data, the private
// upstream randomly up and down; the public upstream receives none of the
// sensitive ones, failover included.
func TestSensitiveNeverReachesPublic(t *testing.T) {
	t.Parallel()
	privSim := sim.New(sim.Options{})
	var down atomic.Bool
	priv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, `{"error":{"message":"down"}}`, http.StatusServiceUnavailable)
			return
		}
		privSim.ServeHTTP(w, r)
	}))
	defer priv.Close()
	e := start(t, []upstreamSpec{
		{Name: "private", URL: priv.URL + "/v1"},
		{Name: "public", Sim: &sim.Options{}, Public: true},
	}, []routeSpec{{
		Name: "r", Models: "deepseek-chat", Upstreams: "private, public",
		Extra: "    private_when: 'request.dlp.findings.size() > 0'\n",
	}},
		// DLP only classifies here (log), so that a spill would carry the
		// raw value and the test would see it.
		"dlp: {enabled: true, request: {pii: log}}\n")
	pub := e.sims["public"]
	rng := rand.New(rand.NewPCG(1, 2))
	var sensitive, spilled, refused, served int
	for i := 0; i < 120; i++ {
		down.Store(rng.IntN(2) == 0)
		content := fmt.Sprintf("question %d about the weather", i)
		isSensitive := rng.IntN(2) == 0
		if isSensitive {
			content = fmt.Sprintf("mail marker%d.person@example.com about order %d", i, i)
			sensitive++
		}
		resp, _ := e.post("/v1/chat/completions",
			`{"model":"deepseek-chat","messages":[{"role":"user","content":"`+content+`"}]}`)
		switch {
		case resp.StatusCode == 200:
			served++
		case isSensitive && resp.StatusCode >= 500:
			refused++
		default:
			t.Errorf("request %d (sensitive=%v, private down=%v): status %d", i, isSensitive, down.Load(), resp.StatusCode)
		}
	}
	for _, r := range pub.Requests() {
		if strings.Contains(string(r.Body), "@example.com") {
			spilled++
		}
	}
	if spilled != 0 {
		t.Fatalf("%d sensitive requests reached the public upstream", spilled)
	}
	if sensitive == 0 || refused == 0 || len(pub.Requests()) == 0 {
		t.Fatalf("the run did not exercise the property: sensitive=%d refused=%d public=%d", sensitive, refused, len(pub.Requests()))
	}
	t.Logf("%d sensitive, %d refused while the private upstream was down, %d served, %d to the public upstream",
		sensitive, refused, served, len(pub.Requests()))
}
