package sim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Server timeouts for `rampart sim`. There is no write timeout because a
// paced stream may legitimately last minutes, as R1's reasoning does.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 5 * time.Second
)

// Run implements `rampart sim`: it parses args, serves the simulator until
// ctx is cancelled and prints "simulator listening on http://ADDR (flavor X)"
// to stdout once listening.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, addr, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	opts.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("sim: listen on %s: %w", addr, err)
	}
	sim := New(opts)
	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if _, err := fmt.Fprintf(stdout, "simulator listening on http://%s (flavor %s)\n", ln.Addr(), sim.Flavor()); err != nil {
		opts.Logger.Warn("sim: could not print the listening line", "err", err)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("sim: serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sim: serve: %w", err)
	}
	return nil
}

// parseFlags reads the command line of `rampart sim`.
func parseFlags(args []string, stderr io.Writer) (Options, string, error) {
	var o Options
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("listen", "127.0.0.1:8000", "address to listen on")
	fs.StringVar(&o.Flavor, "flavor", FlavorDeepSeek, "server to imitate: deepseek, vllm, vllm-noparser, sglang or ollama")
	fs.BoolVar(&o.Echo, "echo", false, "answer with the last user message")
	fs.Int64Var(&o.Seed, "seed", 0, "seed for deterministic output")
	fs.DurationVar(&o.TTFT, "ttft", 0, "delay before the first token")
	fs.Float64Var(&o.TokensPerSecond, "tps", 0, "tokens per second (0: as fast as possible)")
	fs.IntVar(&o.ReasoningTokens, "reasoning-tokens", DefaultReasoningTokens, "reasoning length in tokens (negative: none)")
	fs.IntVar(&o.AnswerTokens, "answer-tokens", DefaultAnswerTokens, "answer length in tokens (negative: empty)")
	fs.DurationVar(&o.KeepAlive, "keep-alive", 0, "keep-alive interval while waiting for the first token (0: off)")
	fs.StringVar(&o.APIKey, "api-key", "", "require this bearer token")
	fs.IntVar(&o.MaxRecorded, "max-recorded", -1, "requests kept in memory (negative: none)")
	models := fs.String("models", "", "comma-separated served models (default: the flavour's)")
	if err := fs.Parse(args); err != nil {
		return o, "", fmt.Errorf("sim: %w", err)
	}
	if fs.NArg() > 0 {
		return o, "", fmt.Errorf("sim: unexpected argument %q", fs.Arg(0))
	}
	if _, ok := lookupFlavor(o.Flavor); !ok {
		return o, "", fmt.Errorf("sim: unknown flavor %q", o.Flavor)
	}
	if o.TokensPerSecond < 0 || o.TTFT < 0 || o.KeepAlive < 0 {
		return o, "", errors.New("sim: --tps, --ttft and --keep-alive must not be negative")
	}
	// On the command line 0 means none, while in Options it means default.
	for _, n := range []*int{&o.ReasoningTokens, &o.AnswerTokens} {
		if *n == 0 {
			*n = -1
		}
	}
	if *models != "" {
		for m := range strings.SplitSeq(*models, ",") {
			if m = strings.TrimSpace(m); m != "" {
				o.Models = append(o.Models, m)
			}
		}
	}
	return o, *addr, nil
}
