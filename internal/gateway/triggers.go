package gateway

import (
	"fmt"
	"sync"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/record"
	"github.com/rampart-gw/rampart/internal/upstream"
)

// triggers is a sink that flips the kill switch when a burst of verdicts
// shows a route or a model under attack.
type triggers struct {
	g    *Gateway
	list []config.KillTrigger
	now  func() time.Time

	mu     sync.Mutex
	recent map[string][]time.Time // trigger index and target → verdict times
}

func newTriggers(g *Gateway, list []config.KillTrigger) *triggers {
	return &triggers{g: g, list: list, now: time.Now, recent: map[string][]time.Time{}}
}

// Record implements proxy.Sink.
func (t *triggers) Record(rec *record.Record) {
	verdicts := rec.Verdicts()
	if len(verdicts) == 0 {
		return
	}
	for i, tr := range t.list {
		// A request counts once, however many rules of the stage fired.
		matched := false
		for _, v := range verdicts {
			if v.Stage == tr.Stage && v.Action == tr.Action {
				matched = true
				break
			}
		}
		if !matched {
			continue
		}
		target := rec.Route
		if tr.Target == "model" {
			target = rec.ModelRequested
		}
		if target == "" {
			continue
		}
		if t.hit(fmt.Sprintf("%d\x00%s", i, target), tr) {
			reason := fmt.Sprintf("%d requests with a %s verdict of stage %s within %v", tr.Count, tr.Action, tr.Stage, tr.Window)
			if err := t.g.kill.Kill(target, "trigger:"+tr.Name, reason, upstream.ErrKilled); err != nil {
				t.g.log.Error("kill trigger could not flip the kill switch", "trigger", tr.Name, "target", target, "error", err.Error())
			}
		}
	}
}

// hit counts one request for key and reports whether the trigger fires.
// The window keeps at most Count times per key, so memory stays bounded.
func (t *triggers) hit(key string, tr config.KillTrigger) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	times := t.recent[key]
	for len(times) > 0 && now.Sub(times[0]) > tr.Window {
		times = times[1:]
	}
	times = append(times, now)
	if len(times) > tr.Count {
		times = times[len(times)-tr.Count:]
	}
	if len(times) >= tr.Count {
		delete(t.recent, key)
		return true
	}
	t.recent[key] = times
	return false
}
