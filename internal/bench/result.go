package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Result is the outcome of one benchmark run, printed as the last line of
// `rampart bench`. Times are in milliseconds, CPU in microseconds, memory
// in MiB or KiB as named; "added" values are gateway minus direct.
type Result struct {
	// DirectRPS and RampartRPS are non-streamed requests per second.
	DirectRPS  float64 `json:"direct_rps"`
	RampartRPS float64 `json:"rampart_rps"`
	// CPUUsPerRequest is the gateway's CPU time per non-streamed request.
	CPUUsPerRequest float64 `json:"cpu_us_per_request"`
	// AddedP50Ms and AddedP99Ms are the non-streamed latency added.
	AddedP50Ms float64 `json:"added_p50_ms"`
	AddedP99Ms float64 `json:"added_p99_ms"`
	// AddedTTFTMs is the median time to the first streamed event added.
	AddedTTFTMs float64 `json:"added_ttft_ms"`
	// CPUUsPerStreamEvent is the gateway's CPU time per relayed event.
	CPUUsPerStreamEvent float64 `json:"cpu_us_per_stream_event"`
	// TruncatedStreams counts streams, direct or not, that ended without
	// [DONE] or with an error event.
	TruncatedStreams uint64 `json:"truncated_streams"`
	// AddedInterEventMs is the mean gap between two events added. The
	// mean is used because most gaps are zero (events that arrive in one
	// read), which makes the median uninformative.
	AddedInterEventMs float64 `json:"added_inter_event_ms"`
	// Errors counts failed requests in every measured window.
	Errors uint64 `json:"errors"`
	// KBPerOpenStream is the gateway's resident set growth per open
	// stream, in KiB; zero when the test was skipped.
	KBPerOpenStream float64 `json:"kb_per_open_stream"`
	// RSSIdleMB is the gateway's resident set after start-up, in MiB.
	RSSIdleMB float64 `json:"rss_idle_mb"`
	// AddedP50OneClientMs and AddedTTFTOneClientMs are the median latency
	// and time to the first streamed event added when one client sends
	// requests one after another: the gateway's own delay, without
	// queueing for the cores.
	AddedP50OneClientMs  float64 `json:"added_p50_1client_ms"`
	AddedTTFTOneClientMs float64 `json:"added_ttft_1client_ms"`
	// SimCPUUsPerRequest is the simulator's CPU time per direct request,
	// for scale.
	SimCPUUsPerRequest float64 `json:"sim_cpu_us_per_request"`
	DurationS          float64 `json:"duration_s"`
	Concurrency        int     `json:"concurrency"`
	GoVersion          string  `json:"go_version"`
	NumCPU             int     `json:"num_cpu"`

	// The figures behind the ones above.
	DirectP50Ms          float64 `json:"direct_p50_ms"`
	DirectP99Ms          float64 `json:"direct_p99_ms"`
	RampartP50Ms         float64 `json:"rampart_p50_ms"`
	RampartP99Ms         float64 `json:"rampart_p99_ms"`
	DirectStreamsPS      float64 `json:"direct_streams_per_s"`
	RampartStreamsPS     float64 `json:"rampart_streams_per_s"`
	DirectEventsPS       float64 `json:"direct_events_per_s"`
	RampartEventsPS      float64 `json:"rampart_events_per_s"`
	DirectTTFTP50Ms      float64 `json:"direct_ttft_p50_ms"`
	DirectTTFTP99Ms      float64 `json:"direct_ttft_p99_ms"`
	RampartTTFTP50Ms     float64 `json:"rampart_ttft_p50_ms"`
	RampartTTFTP99Ms     float64 `json:"rampart_ttft_p99_ms"`
	DirectInterEventMs   float64 `json:"direct_inter_event_mean_ms"`
	RampartInterEventMs  float64 `json:"rampart_inter_event_mean_ms"`
	DirectInterEventP99  float64 `json:"direct_inter_event_p99_ms"`
	RampartInterEventP99 float64 `json:"rampart_inter_event_p99_ms"`
	StreamErrors         uint64  `json:"stream_errors"`
	DirectTruncated      uint64  `json:"direct_truncated_streams"`
	OpenStreams          int     `json:"open_streams"`
	OpenStreamsFailed    int     `json:"open_streams_failed"`
	DirectP50OneClient   float64 `json:"direct_p50_1client_ms"`
	RampartP50OneClient  float64 `json:"rampart_p50_1client_ms"`
	DirectTTFTOneClient  float64 `json:"direct_ttft_1client_ms"`
	RampartTTFTOneClient float64 `json:"rampart_ttft_1client_ms"`
}

// newResult derives the reported figures from the raw measurements.
func newResult(opts Options, ph phases, open openStreamsResult, rssIdleKB int64) Result {
	goVersion, numCPU := goInfo()
	d, r, ds, rs := ph.direct, ph.rampart, ph.directStream, ph.rampartStream
	o := ph.one
	res := Result{
		DirectRPS:           perSecond(d.requests, d.window),
		RampartRPS:          perSecond(r.requests, r.window),
		CPUUsPerRequest:     microsPer(r.cpu[gatewayCPU], r.requests),
		AddedP50Ms:          ms(r.latency.Quantile(0.5) - d.latency.Quantile(0.5)),
		AddedP99Ms:          ms(r.latency.Quantile(0.99) - d.latency.Quantile(0.99)),
		AddedTTFTMs:         ms(rs.ttft.Quantile(0.5) - ds.ttft.Quantile(0.5)),
		CPUUsPerStreamEvent: microsPer(rs.cpu[gatewayCPU], rs.events),
		TruncatedStreams:    rs.truncated,
		AddedInterEventMs:   ms(rs.gap.Mean() - ds.gap.Mean()),
		Errors: d.errors + r.errors + ds.errors + rs.errors +
			o.direct.errors + o.rampart.errors + o.directStream.errors + o.rampartStream.errors,
		AddedP50OneClientMs:  ms(o.rampart.latency.Quantile(0.5) - o.direct.latency.Quantile(0.5)),
		AddedTTFTOneClientMs: ms(o.rampartStream.ttft.Quantile(0.5) - o.directStream.ttft.Quantile(0.5)),
		KBPerOpenStream:      round3(open.kbPerStream()),
		RSSIdleMB:            round3(float64(rssIdleKB) / 1024),
		SimCPUUsPerRequest:   microsPer(d.cpu[simCPU], d.requests),
		DurationS:            opts.Duration.Seconds(),
		Concurrency:          opts.Concurrency,
		GoVersion:            goVersion,
		NumCPU:               numCPU,
		DirectP50Ms:          ms(d.latency.Quantile(0.5)),
		DirectP99Ms:          ms(d.latency.Quantile(0.99)),
		RampartP50Ms:         ms(r.latency.Quantile(0.5)),
		RampartP99Ms:         ms(r.latency.Quantile(0.99)),
		DirectStreamsPS:      perSecond(ds.requests, ds.window),
		RampartStreamsPS:     perSecond(rs.requests, rs.window),
		DirectEventsPS:       perSecond(ds.events, ds.window),
		RampartEventsPS:      perSecond(rs.events, rs.window),
		DirectTTFTP50Ms:      ms(ds.ttft.Quantile(0.5)),
		DirectTTFTP99Ms:      ms(ds.ttft.Quantile(0.99)),
		RampartTTFTP50Ms:     ms(rs.ttft.Quantile(0.5)),
		RampartTTFTP99Ms:     ms(rs.ttft.Quantile(0.99)),
		DirectInterEventMs:   ms(ds.gap.Mean()),
		RampartInterEventMs:  ms(rs.gap.Mean()),
		DirectInterEventP99:  ms(ds.gap.Quantile(0.99)),
		RampartInterEventP99: ms(rs.gap.Quantile(0.99)),
		StreamErrors:         ds.errors + rs.errors,
		DirectTruncated:      ds.truncated,
		OpenStreams:          open.opened,
		OpenStreamsFailed:    open.failed,
		DirectP50OneClient:   ms(o.direct.latency.Quantile(0.5)),
		RampartP50OneClient:  ms(o.rampart.latency.Quantile(0.5)),
		DirectTTFTOneClient:  ms(o.directStream.ttft.Quantile(0.5)),
		RampartTTFTOneClient: ms(o.rampartStream.ttft.Quantile(0.5)),
	}
	return res
}

// perSecond returns n per second of window, rounded.
func perSecond(n uint64, window time.Duration) float64 {
	if window <= 0 {
		return 0
	}
	return round3(float64(n) / window.Seconds())
}

// microsPer returns the CPU time d per item in microseconds, or zero when
// there were no items.
func microsPer(d time.Duration, n uint64) float64 {
	if n == 0 {
		return 0
	}
	return round3(float64(d.Microseconds()) / float64(n))
}

// ms returns d in milliseconds, rounded to a microsecond.
func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

// round3 rounds v to three decimals, so that the JSON line stays readable.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// marshalResult returns res as one line of JSON.
func marshalResult(res Result) ([]byte, error) {
	b, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return b, nil
}
