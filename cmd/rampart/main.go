// Command rampart is a security gateway for large language models: one
// binary that serves the gateway, a zero-configuration demo, the DeepSeek-R1
// simulator, configuration checks, key management and a load benchmark.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rampart-gw/rampart/internal/gctune"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Rampart: a security gateway for large language models.

Usage:
  rampart serve -c FILE [--listen ADDR] [--admin-listen ADDR]
  rampart demo [--listen ADDR] [--admin-listen ADDR] [--data DIR]
  rampart sim [--listen ADDR] [--flavor deepseek|vllm|vllm-noparser|sglang|ollama] [--echo]
  rampart check -c FILE [--print]
  rampart keys create|list|revoke|rotate [-c FILE | --data DIR | --db FILE] [flags]
  rampart audit [-c FILE | --data DIR | --db FILE] [--request-id ID] [--since DUR] [--newest] [--jsonl]
  rampart kill TARGET [--reason TEXT] [--admin ADDR]
  rampart revive TARGET [--admin ADDR]
  rampart usage [--since DUR] [--granularity G] [--by key,team,model] [--admin ADDR]
  rampart bench [flags]
  rampart scan [-c FILE] < LINES
  rampart version

Run "rampart VERB -h" for the flags of a verb.
`

type verb func(ctx context.Context, args []string, stdout, stderr io.Writer) error

var verbs = map[string]verb{
	"serve":   runServe,
	"demo":    runDemo,
	"sim":     runSim,
	"check":   runCheck,
	"keys":    runKeys,
	"audit":   runAudit,
	"usage":   runUsage,
	"bench":   runBench,
	"kill":    runKill,
	"revive":  runRevive,
	"scan":    runScan,
	"version": runVersion,
}

func main() {
	if os.Getenv("GOGC") == "" {
		// The request path allocates little and briefly: while the live
		// heap is small, a higher GC target trades a few MiB for less
		// collector CPU per request; as it grows (thousands of open
		// streams), the target falls back to 100 so that garbage stays
		// bounded.
		gctune.Start(gctune.Default)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	v, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "rampart: unknown verb %q\n\n%s", args[0], usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := v(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ee exitError
		if errors.As(err, &ee) {
			return int(ee)
		}
		fmt.Fprintf(stderr, "rampart %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// exitError ends the process with a status after the verb printed its own
// message.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
