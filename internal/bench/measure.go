package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"time"
)

// loadPhases holds the results of the four load phases.
type loadPhases struct {
	direct, rampart             phaseResult
	directStream, rampartStream phaseResult
}

// phases holds the four load phases, and the same four with one client
// sending requests one after another.
type phases struct {
	loadPhases
	one loadPhases
}

// One-client phases are short: their figure is a median over thousands of
// sequential requests, which a second or two gives. They run in rounds,
// direct and through the gateway in turn, and each side's rounds are
// pooled: a machine whose speed drifts over seconds then drifts under both
// sides alike, instead of between them.
const (
	oneClientWarmup      = 500 * time.Millisecond
	oneClientRoundWarmup = 100 * time.Millisecond
	oneClientDuration    = 2 * time.Second
	oneClientRounds      = 4
	oneClientEvents      = 20
)

// Measure runs the whole benchmark described by opts and returns its
// results. The simulator and the gateway it starts are stopped, and their
// temporary files removed, before it returns.
func Measure(ctx context.Context, opts Options, log *slog.Logger) (Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "rampart-bench-")
	if err != nil {
		return Result{}, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	client := newClient(opts.Concurrency)
	defer client.CloseIdleConnections()

	log.Info("starting simulator", "binary", opts.Binary)
	sim, simAddr, err := startSim(ctx, client, dir, opts.Binary)
	if err != nil {
		return Result{}, fmt.Errorf("bench: %w", err)
	}
	defer sim.stop()
	log.Info("starting gateway", "simulator", simAddr)
	gw, err := startGateway(ctx, client, dir, opts.Binary, simAddr, opts.Stages)
	if err != nil {
		return Result{}, fmt.Errorf("bench: %w", err)
	}
	defer gw.stop()

	rssIdle, err := processRSS(gw.pid())
	if err != nil {
		return Result{}, fmt.Errorf("bench: %w", err)
	}
	var open openStreamsResult
	if opts.StreamsOpen > 0 {
		// The memory test runs before the load phases: afterwards the
		// gateway's heap has grown, and new streams would reuse memory
		// it already holds, which would hide their cost.
		if open, err = measureOpenStreams(ctx, client, gw, opts, log); err != nil {
			return Result{}, err
		}
	}
	ph, err := runPhases(ctx, client, opts, "http://"+simAddr+"/v1", gw, sim.pid(), log)
	if err != nil {
		return Result{}, err
	}
	return newResult(opts, ph, open, rssIdle), nil
}

// measureOpenStreams runs the memory-per-open-stream test through gw.
func measureOpenStreams(ctx context.Context, client *http.Client, gw *gateway, opts Options, log *slog.Logger) (openStreamsResult, error) {
	log.Info("opening streams", "streams", opts.StreamsOpen)
	body := chatBody(opts.BodyBytes, true, `{"tps":1,"events":100000}`)
	auth := []string{"Bearer " + gw.key}
	res, err := openStreams(ctx, client, gw.baseURL+"/chat/completions", auth, body, opts.StreamsOpen, gw.pid())
	if err != nil {
		return res, fmt.Errorf("bench: open streams: %w", err)
	}
	if res.failed > 0 || res.opened < opts.StreamsOpen {
		log.Warn("not every stream opened", "opened", res.opened, "failed", res.failed, "wanted", opts.StreamsOpen)
	}
	return res, nil
}

// runPhases runs the four load phases in turn: plain and streamed, each
// direct to the simulator and then through the gateway.
func runPhases(ctx context.Context, client *http.Client, opts Options, simURL string, gw *gateway, simPID int, log *slog.Logger) (phases, error) {
	plain := chatBody(opts.BodyBytes, false, "")
	stream := chatBody(opts.BodyBytes, true, fmt.Sprintf(`{"events":%d,"reasoning_tokens":0}`, opts.StreamEvents))
	auth := []string{"Bearer " + gw.key}
	pids := []int{gw.pid(), simPID}
	specs := []*phaseSpec{
		{name: "direct", url: simURL + "/chat/completions", body: plain, pids: pids},
		{name: "rampart", url: gw.baseURL + "/chat/completions", auth: auth, body: plain, pids: pids},
		{name: "direct-stream", url: simURL + "/chat/completions", body: stream, stream: true, pids: pids},
		{name: "rampart-stream", url: gw.baseURL + "/chat/completions", auth: auth, body: stream, stream: true, pids: pids},
	}
	// Then the same four with one client: the gateway's own delay on a
	// request, without queueing for the cores behind other requests. Its
	// streams are short: a long stream from a zero-latency simulator keeps
	// both cores busy (the simulator writing, the gateway relaying), and
	// the client then waits for a core to read its first event, which is
	// not the gateway's delay.
	short := chatBody(opts.BodyBytes, true, fmt.Sprintf(`{"events":%d,"reasoning_tokens":0}`, min(opts.StreamEvents, oneClientEvents)))
	for _, spec := range specs[:4] {
		one := *spec
		one.name += "-1client"
		if one.stream {
			one.body = short
		}
		specs = append(specs, &one)
	}
	out := make([]phaseResult, len(specs))
	run := func(i, concurrency int, warmup, duration time.Duration) error {
		spec := specs[i]
		log.Info("phase", "name", spec.name, "warmup", warmup, "duration", duration, "concurrency", concurrency)
		res, err := runPhase(ctx, client, spec, concurrency, warmup, duration)
		if err != nil {
			return fmt.Errorf("bench: phase %s: %w", spec.name, err)
		}
		log.Info("phase done", "name", spec.name, "requests", res.requests, "events", res.events,
			"gateway_cpu", res.cpu[gatewayCPU], "sim_cpu", res.cpu[simCPU])
		if res.errors > 0 {
			log.Warn("requests failed", "phase", spec.name, "errors", res.errors, "first", res.firstError)
		}
		if res.truncated > 0 {
			log.Warn("streams truncated", "phase", spec.name, "truncated", res.truncated, "first", res.firstTruncated)
		}
		if out[i].latency == nil {
			out[i] = res
		} else {
			out[i].add(res)
		}
		return nil
	}
	for i := range 4 {
		if err := run(i, opts.Concurrency, opts.Warmup, opts.Duration); err != nil {
			return phases{}, err
		}
	}
	round := min(opts.Duration, oneClientDuration) / oneClientRounds
	for r := range oneClientRounds {
		warmup := oneClientRoundWarmup
		if r == 0 {
			warmup = min(opts.Warmup, oneClientWarmup)
		}
		for i := 4; i < len(specs); i++ {
			if err := run(i, 1, warmup, round); err != nil {
				return phases{}, err
			}
		}
	}
	four := func(r []phaseResult) loadPhases {
		return loadPhases{direct: r[0], rampart: r[1], directStream: r[2], rampartStream: r[3]}
	}
	return phases{loadPhases: four(out[:4]), one: four(out[4:])}, nil
}

// Index of each measured process in phaseResult.cpu.
const (
	gatewayCPU = 0
	simCPU     = 1
)

// goInfo returns the Go version and CPU count recorded with the results.
func goInfo() (string, int) { return runtime.Version(), runtime.NumCPU() }
