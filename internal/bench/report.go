package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// writeReport prints res as a table followed by one line of JSON, the last
// line of the output, for scripts.
func writeReport(w io.Writer, res Result) error {
	line, err := marshalResult(res)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	rows := []struct {
		name            string
		direct, rampart float64
		unit            string
	}{
		{"requests/s", res.DirectRPS, res.RampartRPS, ""},
		{"latency p50", res.DirectP50Ms, res.RampartP50Ms, "ms"},
		{"latency p99", res.DirectP99Ms, res.RampartP99Ms, "ms"},
		{"streams/s", res.DirectStreamsPS, res.RampartStreamsPS, ""},
		{"events/s", res.DirectEventsPS, res.RampartEventsPS, ""},
		{"first event p50", res.DirectTTFTP50Ms, res.RampartTTFTP50Ms, "ms"},
		{"first event p99", res.DirectTTFTP99Ms, res.RampartTTFTP99Ms, "ms"},
		{"inter-event mean", res.DirectInterEventMs, res.RampartInterEventMs, "ms"},
		{"inter-event p99", res.DirectInterEventP99, res.RampartInterEventP99, "ms"},
	}
	fmt.Fprintf(tw, "\tdirect\trampart\tadded\t\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%+.3f %s\t\n", r.name, r.direct, r.rampart, r.rampart-r.direct, r.unit)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintf(w, "\none client, one request after another: latency p50 %.3f direct, %.3f through rampart, %+.3f ms added;"+
		" first event p50 %.3f, %.3f, %+.3f ms\n",
		res.DirectP50OneClient, res.RampartP50OneClient, res.AddedP50OneClientMs,
		res.DirectTTFTOneClient, res.RampartTTFTOneClient, res.AddedTTFTOneClientMs)
	fmt.Fprintf(w, "gateway CPU: %.1f µs/request, %.2f µs/stream event (simulator: %.1f µs/request)\n",
		res.CPUUsPerRequest, res.CPUUsPerStreamEvent, res.SimCPUUsPerRequest)
	fmt.Fprintf(w, "errors: %d (streams %d); truncated streams: %d through rampart, %d direct\n",
		res.Errors, res.StreamErrors, res.TruncatedStreams, res.DirectTruncated)
	fmt.Fprintf(w, "gateway memory: %.1f MiB idle; %.1f KiB per open stream (%d open, %d failed)\n",
		res.RSSIdleMB, res.KBPerOpenStream, res.OpenStreams, res.OpenStreamsFailed)
	fmt.Fprintf(w, "%d clients, %.1fs per phase, %d CPUs, %s\n\n", res.Concurrency, res.DurationS, res.NumCPU, res.GoVersion)
	if _, err := fmt.Fprintf(w, "%s\n", line); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
