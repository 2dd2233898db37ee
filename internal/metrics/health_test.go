package metrics

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

// TestHealthReadAtScrape: the health metrics show the source's state at
// each scrape, one series per upstream.
func TestHealthReadAtScrape(t *testing.T) {
	t.Parallel()
	m := New(func() float64 { return 0 })
	var ejected atomic.Bool
	m.RegisterHealth(func() []UpstreamHealth {
		if ejected.Load() {
			return []UpstreamHealth{{Name: "a", Ejections: 1}, {Name: "b", Healthy: true, ChecksFailed: 4}}
		}
		return []UpstreamHealth{{Name: "a", Healthy: true}, {Name: "b", Healthy: true, ChecksFailed: 4}}
	})
	scrape := func() string {
		got, err := testutil.CollectAndFormat(m.Registry, expfmt.TypeTextPlain,
			"rampart_upstream_healthy", "rampart_upstream_ejections_total", "rampart_upstream_health_checks_failed_total")
		if err != nil {
			t.Fatal(err)
		}
		return string(got)
	}
	tests := []struct {
		desc    string
		ejected bool
		want    []string
	}{
		{"all healthy", false, []string{`rampart_upstream_healthy{upstream="a"} 1`, `rampart_upstream_healthy{upstream="b"} 1`,
			`rampart_upstream_ejections_total{upstream="a"} 0`, `rampart_upstream_health_checks_failed_total{upstream="b"} 4`}},
		{"a ejected", true, []string{`rampart_upstream_healthy{upstream="a"} 0`, `rampart_upstream_healthy{upstream="b"} 1`,
			`rampart_upstream_ejections_total{upstream="a"} 1`}},
	}
	for _, tt := range tests {
		ejected.Store(tt.ejected)
		got := scrape()
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: lacks %q:\n%s", tt.desc, w, got)
			}
		}
	}
}
