//go:build !linux

package memtrim

import (
	"log/slog"
	"runtime/debug"
)

// Release returns freed heap to the system. Only Linux has the executable's
// pages dropped too; elsewhere the other fields of Stats stay zero.
func Release(_ *slog.Logger) (Stats, error) {
	debug.FreeOSMemory()
	return Stats{}, nil
}
