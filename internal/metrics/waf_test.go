package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/rampart-gw/rampart/internal/record"
)

// TestWAFByFamily counts matched rules and interruptions by CRS family;
// a rule ID the client could influence never becomes a label.
func TestWAFByFamily(t *testing.T) {
	t.Parallel()
	m := New(func() float64 { return 0 }).SetNames([]string{"r1"}, nil)
	blocked := &record.Record{Route: "r1", Status: 403}
	for _, v := range []record.Verdict{
		{Stage: "waf", Rule: "942100", Action: "flag", Detail: "SQL Injection Attack Detected via libinjection"},
		{Stage: "waf", Rule: "942190", Action: "flag"},
		{Stage: "waf", Rule: "941100", Action: "flag"},
		{Stage: "waf", Rule: "949110", Action: "block", Score: 15},
		{Stage: "guard", Rule: "942100", Action: "flag"}, // not the WAF's
	} {
		blocked.AddVerdict(v)
	}
	m.Record(blocked)
	detected := &record.Record{Route: "r1", Status: 200}
	detected.AddVerdict(record.Verdict{Stage: "waf", Rule: "913100", Action: "flag"})
	detected.AddVerdict(record.Verdict{Stage: "waf", Rule: "949110", Action: "detect", Score: 5})
	m.Record(detected)
	warned := &record.Record{Route: "r1", Status: 200}
	warned.AddVerdict(record.Verdict{Stage: "waf", Rule: "920350", Action: "flag"})
	warned.AddVerdict(record.Verdict{Stage: "waf", Rule: "1234567'/*", Action: "flag"})
	m.Record(warned)
	badBody := &record.Record{Route: "r1", Status: 400}
	badBody.AddVerdict(record.Verdict{Stage: "waf", Rule: "200002", Action: "block"})
	m.Record(badBody)

	got, err := testutil.CollectAndFormat(m.Registry, expfmt.TypeTextPlain, "rampart_waf_rule_matches_total", "rampart_waf_interruptions_total")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`rampart_waf_rule_matches_total{family="942-sqli"} 2`,
		`rampart_waf_rule_matches_total{family="941-xss"} 1`,
		`rampart_waf_rule_matches_total{family="949-blocking"} 2`,
		`rampart_waf_rule_matches_total{family="913-scanner"} 1`,
		`rampart_waf_rule_matches_total{family="920-protocol"} 1`,
		`rampart_waf_rule_matches_total{family="custom"} 1`,
		`rampart_waf_rule_matches_total{family="engine"} 1`,
		`rampart_waf_interruptions_total{action="block",family="942-sqli"} 1`,
		`rampart_waf_interruptions_total{action="block",family="941-xss"} 1`,
		`rampart_waf_interruptions_total{action="detect",family="913-scanner"} 1`,
		`rampart_waf_interruptions_total{action="block",family="engine"} 1`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{
		`rampart_waf_interruptions_total{action="block",family="920-protocol"}`, // a warning under the threshold
		`rampart_waf_interruptions_total{action="block",family="949-blocking"}`, // the score verdict itself
		"1234567", `action="flag"`,
	} {
		if strings.Contains(string(got), bad) {
			t.Errorf("unexpected %q:\n%s", bad, got)
		}
	}
}
