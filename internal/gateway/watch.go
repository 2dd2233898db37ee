package gateway

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watch reloads on SIGHUP and when the configuration file changes. The
// folder is watched rather than the file, so that editors and Kubernetes
// ConfigMaps that replace the file are seen too.
func (g *Gateway) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var events chan fsnotify.Event
	w, err := fsnotify.NewWatcher()
	if err == nil {
		defer w.Close()
		if err = w.Add(filepath.Dir(g.opts.ConfigPath)); err == nil {
			events = w.Events
		}
	}
	if err != nil {
		g.log.Warn("watching the configuration file failed; reload with SIGHUP", "error", err.Error())
	}
	name := filepath.Clean(g.opts.ConfigPath)
	// Editors write a file in several steps: wait for a quiet moment.
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			g.log.Info("SIGHUP received: reloading the configuration")
			_ = g.Reload()
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if filepath.Clean(ev.Name) == name || filepath.Base(ev.Name) == "..data" {
				debounce.Reset(200 * time.Millisecond)
			}
		case <-debounce.C:
			_ = g.Reload()
		}
	}
}
