package metrics

import "github.com/prometheus/client_golang/prometheus"

// UpstreamHealth is what the metrics show of one upstream's health.
type UpstreamHealth struct {
	Name string
	// Healthy is false while the upstream fails its active check or is
	// ejected by outlier detection.
	Healthy bool
	// Ejections counts the outlier ejections since the upstream was
	// configured.
	Ejections uint64
	// ChecksFailed counts the failed active checks.
	ChecksFailed uint64
}

// HealthSource reports the health of every configured upstream.
type HealthSource func() []UpstreamHealth

var (
	healthyDesc = prometheus.NewDesc("rampart_upstream_healthy",
		"1 while the upstream receives traffic, 0 while it fails its health check or is ejected.", []string{"upstream"}, nil)
	ejectionsDesc = prometheus.NewDesc("rampart_upstream_ejections_total",
		"Times outlier detection ejected the upstream after a run of failed requests.", []string{"upstream"}, nil)
	checkFailsDesc = prometheus.NewDesc("rampart_upstream_health_checks_failed_total",
		"Active health checks the upstream failed.", []string{"upstream"}, nil)
)

// healthCollector reads the health of the upstreams at scrape time, so
// that the request path does no metrics work for it.
type healthCollector struct{ src HealthSource }

func (c healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- healthyDesc
	ch <- ejectionsDesc
	ch <- checkFailsDesc
}

func (c healthCollector) Collect(ch chan<- prometheus.Metric) {
	for _, u := range c.src() {
		v := 0.0
		if u.Healthy {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(healthyDesc, prometheus.GaugeValue, v, u.Name)
		ch <- prometheus.MustNewConstMetric(ejectionsDesc, prometheus.CounterValue, float64(u.Ejections), u.Name)
		ch <- prometheus.MustNewConstMetric(checkFailsDesc, prometheus.CounterValue, float64(u.ChecksFailed), u.Name)
	}
}

// RegisterHealth exports the upstreams' health: a gauge per upstream (1
// healthy, 0 unhealthy or ejected) and counters of ejections and failed
// checks. Upstream names come from the configuration.
func (m *Metrics) RegisterHealth(src HealthSource) {
	m.Registry.MustRegister(healthCollector{src: src})
}
