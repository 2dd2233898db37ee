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

// watcher reloads on SIGHUP and when the configuration file changes. It is
// set up when the gateway is built, so that no change made after New
// returns is missed. The folder is watched rather than the file, so that
// editors and Kubernetes ConfigMaps that replace the file are seen too.
type watcher struct {
	hup    chan os.Signal
	fs     *fsnotify.Watcher
	events chan fsnotify.Event
}

func (g *Gateway) startWatching() {
	w := &watcher{hup: make(chan os.Signal, 1)}
	signal.Notify(w.hup, syscall.SIGHUP)
	fw, err := fsnotify.NewWatcher()
	if err == nil {
		if err = fw.Add(filepath.Dir(g.opts.ConfigPath)); err == nil {
			w.fs, w.events = fw, fw.Events
		} else {
			fw.Close()
		}
	}
	if err != nil {
		g.log.Warn("watching the configuration file failed; reload with SIGHUP", "error", err.Error())
	}
	g.watcher = w
}

func (w *watcher) close() {
	signal.Stop(w.hup)
	if w.fs != nil {
		w.fs.Close()
	}
}

// watch runs until ctx ends.
func (g *Gateway) watch(ctx context.Context) {
	w := g.watcher
	defer w.close()
	name := filepath.Clean(g.opts.ConfigPath)
	// Editors write a file in several steps: wait for a quiet moment.
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.hup:
			g.log.Info("SIGHUP received: reloading the configuration")
			_ = g.Reload()
		case ev, ok := <-w.events:
			if !ok {
				w.events = nil
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
