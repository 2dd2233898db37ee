package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/rampart-gw/rampart/internal/accesslog"
	"github.com/rampart-gw/rampart/internal/bench"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/gateway"
	"github.com/rampart-gw/rampart/internal/keys"
	"github.com/rampart-gw/rampart/internal/memtrim"
	"github.com/rampart-gw/rampart/internal/sim"
)

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return sim.Run(ctx, args, stdout, stderr)
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return bench.Run(ctx, args, stdout, stderr)
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return keys.Run(ctx, args, stdout, stderr)
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintf(stdout, "rampart %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("rampart "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func runCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	file := fs.String("c", "", "configuration file to check (required)")
	print := fs.Bool("print", false, "print the configuration with defaults applied and secrets redacted")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// check also compiles the WAF rules, which serve does only when it
	// builds its stages, so that a SecLang error is reported here too.
	cfg, err := loadWith(*file, stderr, config.Check)
	if err != nil {
		return err
	}
	if *print {
		b, err := cfg.MarshalYAMLRedacted()
		if err != nil {
			return err
		}
		_, _ = stdout.Write(b)
		return nil
	}
	fmt.Fprintf(stdout, "%s: configuration OK (%d upstreams, %d routes)\n", *file, len(cfg.Upstreams), len(cfg.Routes))
	return nil
}

// loadConfig loads the -c file; problems are printed, every one with its
// path, and end the verb with status 1.
func loadConfig(file string, stderr io.Writer) (*config.Config, error) {
	return loadWith(file, stderr, config.Load)
}

// loadWith is loadConfig with the loader: config.Load, or config.Check.
func loadWith(file string, stderr io.Writer, load func(string) (*config.Config, error)) (*config.Config, error) {
	if file == "" {
		return nil, fmt.Errorf("-c FILE is required")
	}
	cfg, err := load(file)
	if err != nil {
		fmt.Fprint(stderr, config.FormatErrors(err))
		return nil, exitError(1)
	}
	return cfg, nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	file := fs.String("c", "", "configuration file (required)")
	listen := fs.String("listen", "", "client listener address, overriding the file's listen.addr")
	adminListen := fs.String("admin-listen", "", "admin listener address, overriding the file's admin.addr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*file, stderr)
	if err != nil {
		return err
	}
	if *listen != "" || *adminListen != "" {
		if *listen != "" {
			cfg.Listen.Addr = *listen
		}
		if *adminListen != "" {
			cfg.Admin.Addr = *adminListen
		}
		if err := cfg.Validate(); err != nil {
			fmt.Fprint(stderr, config.FormatErrors(err))
			return exitError(1)
		}
	}
	log := newLogger(stderr, cfg.Log)
	access := accesslog.NewBufferedWriter(stdout, 100*time.Millisecond)
	defer access.Close()
	g, err := gateway.New(ctx, cfg, gateway.Options{ConfigPath: *file, Log: log, AccessLog: newAccessLog(access, cfg.Log)})
	if err != nil {
		return err
	}
	log.Info("rampart serving", "version", version, "listen", g.ClientAddr(), "admin", g.AdminAddr())
	releaseStartup(log)
	return g.Run(ctx, 30*time.Second)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "client listener address")
	adminListen := fs.String("admin-listen", "127.0.0.1:9090", "admin listener address")
	data := fs.String("data", "rampart-data", "folder for the demo's data (SQLite store)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The built-in DeepSeek-R1 simulator is the demo's upstream.
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	defer simLn.Close()
	cfg := config.Demo(*data, "http://"+simLn.Addr().String()+"/v1")
	cfg.Listen.Addr, cfg.Admin.Addr = *listen, *adminListen
	if err := cfg.Validate(); err != nil {
		fmt.Fprint(stderr, config.FormatErrors(err))
		return exitError(1)
	}
	// The logs are what the configuration's log section says, as in serve.
	log := newLogger(stderr, cfg.Log)

	simSrv := &http.Server{Handler: sim.New(sim.Options{Flavor: "deepseek", MaxRecorded: -1, Logger: log}),
		ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close()

	g, err := gateway.New(ctx, cfg, gateway.Options{Log: log, AccessLog: newAccessLog(stderr, cfg.Log)})
	if err != nil {
		return err
	}
	key, err := demoKey(ctx, g.Keys())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Rampart demo: gateway on http://%s (admin http://%s), upstream r1-sim (built-in DeepSeek-R1 simulator)\n",
		g.ClientAddr(), g.AdminAddr())
	fmt.Fprintf(stdout, "API key: %s\n", key)
	fmt.Fprintf(stdout, "Try: curl -s http://%s/v1/chat/completions -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"model\":\"deepseek-reasoner\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'\n",
		g.ClientAddr(), key)
	releaseStartup(log)
	return g.Run(ctx, 5*time.Second)
}

// releaseStartup gives back the memory start-up touched and serving does
// not use, once the listeners are bound and the store is open: it runs
// before the gateway serves its first request or readiness probe.
func releaseStartup(log *slog.Logger) {
	if _, err := memtrim.Release(log); err != nil {
		log.Warn("start-up memory not released", "err", err)
	}
}

// demoKey revokes the keys earlier demo runs printed and makes a new one.
func demoKey(ctx context.Context, ks *keys.Service) (string, error) {
	list, err := ks.List(ctx)
	if err != nil {
		return "", err
	}
	for _, k := range list {
		if k.Name == "demo" && k.RevokedAt == nil {
			if err := ks.Revoke(ctx, k.ID); err != nil {
				return "", err
			}
		}
	}
	key, _, err := ks.Create(ctx, keys.CreateInput{Name: "demo", Team: "demo"})
	return key, err
}

// newAccessLog returns the access log of the log section: JSON lines
// written straight to w, or slog's text lines.
func newAccessLog(w io.Writer, c config.Log) *accesslog.Logger {
	if c.Format == "text" {
		return accesslog.New(newLogger(w, c))
	}
	return accesslog.NewJSON(w, logLevel(c))
}

// logLevel is the section's level; the configuration was validated.
func logLevel(c config.Log) slog.Level {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	return lvl
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	lvl := logLevel(c)
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
