package main

import (
	"context"
	"io"
	"os"

	"github.com/rampart-gw/rampart/internal/scan"
)

// runScan is `rampart scan`: the verb signature carries no stdin, so it
// reads the process's own.
func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return scan.Run(ctx, args, os.Stdin, stdout, stderr)
}
