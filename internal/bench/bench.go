// Package bench is `rampart bench`, the end-to-end load benchmark: it starts
// the simulator and a gateway in front of it as child processes, drives the
// same load at the simulator directly and through the gateway, and reports
// what the gateway adds in latency, CPU and memory.
//
// It depends only on the command-line contract of `rampart sim` and
// `rampart serve`, never on their internals, so it measures exactly the
// binary that ships.
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// Options configures one benchmark run. The zero value of each field means
// its default.
type Options struct {
	// Binary is the rampart executable to start. Default: this executable.
	Binary string
	// Duration is the measured window of each phase. Default: 10s.
	Duration time.Duration
	// Warmup precedes each measured window. Default: 2s.
	Warmup time.Duration
	// Concurrency is the number of client goroutines, each with its own
	// keep-alive connection. Default: 64.
	Concurrency int
	// StreamEvents is the number of events of each streamed answer.
	// Default: 200.
	StreamEvents int
	// BodyBytes is the size of each request body. Default: 2048.
	BodyBytes int
	// StreamsOpen is the number of streams held open at once for the
	// memory test. Default: 2000. Negative skips the test.
	StreamsOpen int
	// Stages are the stages the gateway runs: "none" (default: the core
	// path alone, audit trail off), "audit", "waf", or "all" (audit trail,
	// WAF, limits, input and output guards, request and response DLP, as the
	// demo runs them).
	Stages string
}

// Defaults of Options.
const (
	DefaultDuration     = 10 * time.Second
	DefaultWarmup       = 2 * time.Second
	DefaultConcurrency  = 64
	DefaultStreamEvents = 200
	DefaultBodyBytes    = 2048
	DefaultStreamsOpen  = 2000
)

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() (Options, error) {
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("find the rampart binary: %w", err)
		}
		o.Binary = exe
	}
	o.Duration = cmp0(o.Duration, DefaultDuration)
	o.Warmup = cmp0(o.Warmup, DefaultWarmup)
	o.Concurrency = cmp0(o.Concurrency, DefaultConcurrency)
	o.StreamEvents = cmp0(o.StreamEvents, DefaultStreamEvents)
	o.BodyBytes = cmp0(o.BodyBytes, DefaultBodyBytes)
	o.StreamsOpen = cmp0(o.StreamsOpen, DefaultStreamsOpen)
	return o, nil
}

// cmp0 returns v, or def when v is zero.
func cmp0[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Run is the `rampart bench` verb. It parses args, runs the benchmark,
// prints a table to stdout and, as the last line, one JSON object with the
// results. Progress goes to stderr.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	res, err := Measure(ctx, opts, log)
	if err != nil {
		return err
	}
	return writeReport(stdout, res)
}

// parseFlags turns the verb's arguments into Options.
func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.StringVar(&o.Binary, "binary", "", "path of the rampart `executable` to start (default: this one)")
	fs.DurationVar(&o.Duration, "duration", DefaultDuration, "measured window of each phase")
	fs.DurationVar(&o.Warmup, "warmup", DefaultWarmup, "warm-up before each measured window")
	fs.IntVar(&o.Concurrency, "concurrency", DefaultConcurrency, "client goroutines, one keep-alive connection each")
	fs.IntVar(&o.StreamEvents, "stream-events", DefaultStreamEvents, "events in each streamed answer")
	fs.IntVar(&o.BodyBytes, "body-bytes", DefaultBodyBytes, "size of each request body in bytes")
	fs.IntVar(&o.StreamsOpen, "streams-open", DefaultStreamsOpen, "streams held open at once for the memory test (0 skips it)")
	fs.StringVar(&o.Stages, "stages", "none", "stages the gateway runs: none (core path), audit, waf or all")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if o.Duration <= 0 || o.Warmup < 0 || o.Concurrency <= 0 || o.StreamEvents <= 0 || o.BodyBytes <= 0 || o.StreamsOpen < 0 {
		return o, errors.New("bench: --duration, --concurrency, --stream-events and --body-bytes must be positive; --warmup and --streams-open not negative")
	}
	// On the command line 0 means "skip", which Options spells negative.
	if o.StreamsOpen == 0 {
		o.StreamsOpen = -1
	}
	// A zero warm-up is allowed on the command line; Options spells it
	// as the smallest positive duration.
	if o.Warmup == 0 {
		o.Warmup = time.Nanosecond
	}
	return o, nil
}
