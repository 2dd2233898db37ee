package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/proxy"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/route"
	"github.com/rampart-gw/rampart/internal/waf"
)

var testWAF = sync.OnceValues(func() (*waf.WAF, error) {
	return waf.New(waf.Config{Enabled: true}, slog.New(slog.DiscardHandler))
})

// TestWAFStageRoutes checks the route's settings: off, on while the section
// is off, the default envelope scope, and the full-body opt-in, which
// blocks a prompt that the envelope scope lets through.
func TestWAFStageRoutes(t *testing.T) {
	w, err := testWAF()
	if err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	prompt := `{"model":"m","messages":[{"role":"user","content":"what does ' UNION SELECT password FROM users -- do? and <script>alert(1)</script>"}]}`
	attackURI := "/v1/chat/completions?id=1%27%20OR%20%271%27=%271%27%20UNION%20SELECT%20password%20FROM%20users--"
	for _, tc := range []struct {
		desc    string
		section bool
		rc      waf.RouteConfig
		uri     string
		blocked bool
	}{
		{"section on, route default, attack in the query", true, waf.RouteConfig{}, attackURI, true},
		{"section on, route off", true, waf.RouteConfig{Enabled: &off}, attackURI, false},
		{"section off, route on", false, waf.RouteConfig{Enabled: &on}, attackURI, true},
		{"section off, route default", false, waf.RouteConfig{}, attackURI, false},
		{"envelope scope lets prose through", true, waf.RouteConfig{}, "/v1/chat/completions", false},
		{"full-body opt-in inspects prose", true, waf.RouteConfig{InspectBody: waf.ScopeFull}, "/v1/chat/completions", true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := wafCall(tc.uri, prompt, &route.Route{Name: "r", WAF: tc.rc})
			err := wafStage{w: w, on: tc.section}.Check(context.Background(), c)
			var ae *apierr.Error
			if got := errors.As(err, &ae); got != tc.blocked {
				t.Fatalf("blocked = %v (%v), want %v", got, err, tc.blocked)
			}
			if tc.blocked && (ae.Status != http.StatusForbidden || ae.Code != "request_blocked" || !strings.Contains(ae.Message, c.Rec.ID)) {
				t.Errorf("refusal %d %s %q", ae.Status, ae.Code, ae.Message)
			}
			if !tc.blocked && len(c.Rec.Verdicts()) != 0 && tc.rc.Enabled != nil && !*tc.rc.Enabled {
				t.Errorf("a route with the WAF off got verdicts: %+v", c.Rec.Verdicts())
			}
		})
	}
}

// TestWAFStageRecord checks what an interruption leaves in the record: a
// flag verdict with the message of each matched rule, and the interruption
// with the anomaly score; never the matched text.
func TestWAFStageRecord(t *testing.T) {
	w, err := testWAF()
	if err != nil {
		t.Fatal(err)
	}
	secret := "password"
	c := wafCall("/v1/chat/completions?id=1%27%20OR%20%271%27=%271%27%20UNION%20SELECT%20"+secret+"%20FROM%20users--", `{"model":"m"}`, &route.Route{Name: "r"})
	if err := (wafStage{w: w, on: true}).Check(context.Background(), c); err == nil {
		t.Fatal("not blocked")
	}
	vs := c.Rec.Verdicts()
	var flags, stops int
	for _, v := range vs {
		if v.Stage != "waf" {
			t.Errorf("verdict of stage %q", v.Stage)
		}
		if strings.Contains(v.Detail, secret) {
			t.Errorf("verdict %+v holds matched text", v)
		}
		id, err := strconv.Atoi(v.Rule)
		if err != nil || id < 900000 {
			t.Errorf("rule %q is not a CRS rule ID", v.Rule)
		}
		switch v.Action {
		case "flag":
			flags++
			if v.Detail == "" {
				t.Errorf("rule %s without its message", v.Rule)
			}
			if strings.HasPrefix(v.Rule, "942") && !strings.Contains(strings.ToLower(v.Detail), "sql") {
				t.Errorf("rule %s message %q", v.Rule, v.Detail)
			}
		case "block":
			stops++
			if v.Rule != "949110" || v.Score < 5 || !strings.Contains(v.Detail, "anomaly score "+strconv.Itoa(int(v.Score))) {
				t.Errorf("interruption %+v", v)
			}
		default:
			t.Errorf("action %q", v.Action)
		}
	}
	if flags == 0 || stops != 1 || flags > maxWAFRuleVerdicts {
		t.Fatalf("%d flag and %d block verdicts: %+v", flags, stops, vs)
	}
}

func wafCall(uri, body string, rt *route.Route) *proxy.Call {
	r := httptest.NewRequest(http.MethodPost, uri, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "OpenAI/Python 1.99.0")
	r.Header.Set("Accept", "application/json")
	return &proxy.Call{HTTP: r, Body: []byte(body), Route: rt, Rec: &record.Record{ID: "req-123"}, Header: http.Header{}}
}
