package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/rampart-gw/rampart/internal/record"
)

func TestRecordUsesFixedLabelSets(t *testing.T) {
	t.Parallel()
	m := New(func() float64 { return 3 }).SetNames([]string{"r1"}, []string{"deepseek"})
	m.Record(&record.Record{Route: "r1", Endpoint: "chat", Status: 200, Upstream: "deepseek", Attempts: 2,
		Duration: time.Second, TTFT: time.Millisecond, Events: 5,
		Usage: record.Usage{PromptTokens: 10, CompletionTokens: 20, ReasoningTokens: 7, TotalTokens: 30}})
	// Values an attacker controls never become label values.
	m.Record(&record.Record{Route: "route-from-nowhere", Endpoint: "/etc/passwd", Status: 502,
		Upstream: "evil", ErrorCode: "sk-secret-code", Outcome: "error"})
	m.Record(&record.Record{Endpoint: "chat", Status: 499})

	tests := []struct {
		desc, metric, want string
	}{
		{"requests by class", "rampart_requests_total", `rampart_requests_total{code="2xx",endpoint="chat",route="r1"} 1`},
		{"unknown route and endpoint", "rampart_requests_total", `rampart_requests_total{code="5xx",endpoint="other",route="other"} 1`},
		{"client closed", "rampart_requests_total", `rampart_requests_total{code="499",endpoint="chat",route="none"} 1`},
		{"tokens by kind", "rampart_tokens_total", `rampart_tokens_total{kind="reasoning",route="r1"} 7`},
		{"attempts", "rampart_upstream_attempts_total", `rampart_upstream_attempts_total{upstream="deepseek"} 2`},
		{"error codes from a fixed set", "rampart_upstream_errors_total", `rampart_upstream_errors_total{code="other",upstream="other"} 1`},
		{"in flight", "rampart_in_flight_requests", `rampart_in_flight_requests 3`},
	}
	for _, tt := range tests {
		got, err := testutil.CollectAndFormat(m.Registry, expfmt.TypeTextPlain, tt.metric)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), tt.want) {
			t.Errorf("%s: %s lacks %q:\n%s", tt.desc, tt.metric, tt.want, got)
		}
	}
	all, _ := testutil.CollectAndFormat(m.Registry, expfmt.TypeTextPlain)
	for _, bad := range []string{"route-from-nowhere", "passwd", "evil", "sk-secret"} {
		if strings.Contains(string(all), bad) {
			t.Errorf("request data %q became a label", bad)
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	m := New(func() float64 { return 0 }).SetNames([]string{"r1"}, []string{"up"})
	rec := &record.Record{Route: "r1", Endpoint: "chat", Status: 200, Upstream: "up", Duration: time.Millisecond,
		Usage: record.Usage{PromptTokens: 1, TotalTokens: 2}}
	b.ReportAllocs()
	for b.Loop() {
		m.Record(rec)
	}
}
