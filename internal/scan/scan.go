package scan

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/dlp"
	"github.com/rampart-gw/rampart/internal/guard"
)

// Run is `rampart scan [-c FILE]`: it judges every line of stdin and writes
// one JSON line per input line to stdout, in order (see the package
// documentation for the formats). Warnings go to stderr. It returns an
// error only when reading, writing or the configuration fails, or when ctx
// ends; lines that are blocked or cannot be judged are reported on stdout.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rampart scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: rampart scan [-c FILE] < INPUT

Runs the guards and DLP over each line of stdin and writes one JSON verdict
line per input line, in order. A line starting with '{' is a JSON object
  {"id": "p1", "text": "...", "role": "user"}
(text required; id any JSON value, the line number by default; role user by
default, or system, developer, assistant, tool, function, document); any
other line is plain text. Output:
  {"id": "p1", "action": "block|mask|flag|pass", "guards": [...], "findings": [...]}

`)
		fs.PrintDefaults()
	}
	file := fs.String("c", "", "configuration `FILE` whose dlp: and guards: sections apply (default: the demo's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: input is read from stdin", fs.Arg(0))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	j, err := load(*file, log, stderr)
	if err != nil {
		return err
	}
	return j.stream(ctx, stdin, stdout, !isRegularFile(stdin))
}

// load builds the judge from the configuration file, or from the demo's
// configuration when file is empty.
func load(file string, log *slog.Logger, stderr io.Writer) (*judge, error) {
	var cfg *config.Config
	if file == "" {
		// The upstream URL only has to be valid: scan never calls it.
		cfg = config.Demo("", "http://127.0.0.1/v1")
	} else {
		var err error
		if cfg, err = config.Load(file); err != nil {
			fmt.Fprint(stderr, config.FormatErrors(err))
			return nil, fmt.Errorf("%s: invalid configuration", file)
		}
	}
	return newJudge(cfg.DLP, cfg.Guards, log)
}

// newJudge compiles the DLP scanner and the guards.
func newJudge(dc dlp.Config, gc guard.Config, log *slog.Logger) (*judge, error) {
	d, err := dlp.New(dc)
	if err != nil {
		return nil, fmt.Errorf("dlp: %w", err)
	}
	g, err := guard.New(gc, log)
	if err != nil {
		return nil, err
	}
	return &judge{dlp: d, guards: g}, nil
}

// isRegularFile reports whether r is a regular file, whose lines are all
// there already: output is then flushed only when the buffer fills, rather
// than after every line for a reader waiting at the other end of a pipe.
func isRegularFile(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}
