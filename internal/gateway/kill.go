package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rampart-gw/rampart/internal/alert"
	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/health"
	"github.com/rampart-gw/rampart/internal/killswitch"
	"github.com/rampart-gw/rampart/internal/store"
	"github.com/rampart-gw/rampart/internal/upstream"
)

// openKillSwitch loads the kill switch from the store, so that a kill
// survives a restart and reaches every instance sharing the store. The
// kills file of older versions in the data folder is imported once. When
// neither API keys nor audit opened the store, it is opened here for the
// kill switch alone, the same store they would have opened: kills must
// reach the instances that share it.
func (g *Gateway) openKillSwitch(ctx context.Context, cfg *config.Config) error {
	if g.store == nil {
		st, err := store.Open(ctx, cfg.Store.Postgres, cfg.SQLitePath())
		if err != nil {
			return err
		}
		g.store = st
	}
	ks, err := killswitch.Open(ctx, killswitch.Options{
		Store:      g.store.Kills(),
		ImportFile: filepath.Join(cfg.DataDir, "killswitch.json"),
		Cause:      upstream.ErrKilled,
		Log:        g.log,
		OnFlip: func(ev killswitch.Event) {
			g.log.Warn("kill switch "+ev.Action, "target", ev.Target, "actor", ev.Actor, "reason", ev.Reason,
				"from_other_instance", ev.Remote)
			g.alerts.Raise(alert.KillSwitchChanged(ev.Target, ev.Action, ev.Actor, ev.Reason))
		},
	})
	if err != nil {
		return err
	}
	g.kill = ks
	return nil
}

// KillSwitch returns the gateway's kill switch.
func (g *Gateway) KillSwitch() *killswitch.Switch { return g.kill }

// killRequest is the body of POST /admin/v1/kill and /admin/v1/revive.
type killRequest struct {
	Target string `json:"target"`
	Reason string `json:"reason"`
	Actor  string `json:"actor"`
	// Force kills a target that names nothing in the current
	// configuration (a model or upstream about to be added).
	Force bool `json:"force"`
}

func decodeKill(w http.ResponseWriter, r *http.Request) (killRequest, bool) {
	var kr killRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kr); err != nil || kr.Target == "" {
		apierr.Write(w, apierr.BadRequest("invalid_request",
			`The body must be {"target": "...", "reason": "...", "actor": "...", "force": false} with a target: an upstream, a model, a route or "*".`))
		return kr, false
	}
	if kr.Actor == "" {
		kr.Actor = "admin-api"
	}
	return kr, true
}

// serveKill cuts the target at once, on this instance, and then saves the
// kill to the store, which carries it to the other instances. A kill is the
// operator's answer to an incident and fails closed: when the store cannot
// save it (a database outage may be part of the same incident), it stays in
// force here, the answer is 202 with "saved": false, and it is saved by the
// first poll that reaches the store.
func (g *Gateway) serveKill(w http.ResponseWriter, r *http.Request) {
	kr, ok := decodeKill(w, r)
	if !ok {
		return
	}
	if !kr.Force && !g.killTargetKnown(kr.Target) {
		// A typo during an incident would otherwise be a kill that cuts
		// nothing while the operator believes the upstream is cut off.
		apierr.Write(w, apierr.New(http.StatusNotFound, apierr.TypeNotFound, "unknown_target",
			fmt.Sprintf("No upstream, route or model of the current configuration is named %q, so the kill would cut nothing. %s Send \"force\": true (rampart kill --force) to kill it anyway.",
				clipName(kr.Target), g.killTargetNames())))
		return
	}
	wait := g.killWait
	if wait <= 0 {
		wait = adminKillWait
	}
	err := g.kill.KillWithin(wait, kr.Target, kr.Actor, kr.Reason, upstream.ErrKilled)
	out := killAnswer{Kills: g.kill.Active(), Saved: err == nil}
	status := http.StatusOK
	switch {
	case errors.Is(err, killswitch.ErrNotSavedYet):
		g.log.Warn("kill switch kill in force on this instance; the store has not answered yet",
			"target", kr.Target, "actor", kr.Actor)
		status = http.StatusAccepted
		out.Message = "The kill is in force on this instance. The store has not answered yet, so other instances may not have it; it is saved as soon as the store answers. Check GET /admin/v1/kill on another instance, or the store."
	case err != nil:
		g.log.Error("kill switch kill in force on this instance only: the store write failed; it is saved when the store answers",
			"target", kr.Target, "actor", kr.Actor, "error", err.Error())
		status = http.StatusAccepted
		out.Message = "The kill is in force on this instance, but the store could not save it, so other instances do not have it yet and a restart of this one would lose it. It is saved when the store answers; check the store, or send the kill again."
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// killTargetKnown reports whether target is "*", or names an upstream or a
// route of the serving configuration, or a model some route serves (a
// name, an alias or a match of a glob). It reads the snapshot only, so a
// reload in progress never delays a kill.
func (g *Gateway) killTargetKnown(target string) bool {
	if target == killswitch.Global {
		return true
	}
	snap := g.handler.Snapshot()
	if snap == nil || snap.Routes == nil {
		return false
	}
	if _, ok := snap.Routes.Match(target); ok {
		return true
	}
	for _, rt := range snap.Routes.Routes() {
		if rt.Name == target {
			return true
		}
		for _, t := range rt.Targets {
			if t.Client != nil && t.Client.Name == target {
				return true
			}
		}
	}
	return false
}

// killTargetNames lists the upstreams and routes that can be killed, for
// the refusal of an unknown target.
func (g *Gateway) killTargetNames() string {
	var ups, routes []string
	if snap := g.handler.Snapshot(); snap != nil && snap.Routes != nil {
		for _, rt := range snap.Routes.Routes() {
			routes = append(routes, rt.Name)
			for _, t := range rt.Targets {
				if t.Client != nil && !slices.Contains(ups, t.Client.Name) {
					ups = append(ups, t.Client.Name)
				}
			}
		}
	}
	slices.Sort(ups)
	return fmt.Sprintf("Upstreams: %s. Routes: %s.", clipList(ups), clipList(routes))
}

// clipList joins names for a message, at most 20 of them.
func clipList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	if len(names) > 20 {
		return strings.Join(names[:20], ", ") + fmt.Sprintf(" and %d more", len(names)-20)
	}
	return strings.Join(names, ", ")
}

// clipName shortens a target for a message.
func clipName(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}

// adminKillWait bounds how long POST /admin/v1/kill waits for the store to
// save a kill before it answers (Gateway.killWait, when set, replaces it):
// the kill is in force at once either way, and `rampart kill` gives up
// after 10 s.
const adminKillWait = 3 * time.Second

// killAnswer is the answer to POST /admin/v1/kill.
type killAnswer struct {
	Kills []killswitch.Kill `json:"kills"`
	// Saved reports whether the store has the kill; when it is false the
	// kill is in force on this instance only, for now.
	Saved   bool   `json:"saved"`
	Message string `json:"message,omitempty"`
}

func (g *Gateway) serveRevive(w http.ResponseWriter, r *http.Request) {
	kr, ok := decodeKill(w, r)
	if !ok {
		return
	}
	if err := g.kill.Revive(kr.Target, kr.Actor); err != nil {
		if errors.Is(err, killswitch.ErrUnknownTarget) {
			apierr.Write(w, apierr.New(http.StatusNotFound, apierr.TypeNotFound, "not_killed",
				"That target is not killed."))
			return
		}
		g.writeKillStoreError(w, "revive", kr, err)
		return
	}
	g.serveKills(w, r)
}

// writeKillStoreError answers a revival that could not be saved: nothing
// changed, so the caller must retry.
func (g *Gateway) writeKillStoreError(w http.ResponseWriter, action string, kr killRequest, err error) {
	g.log.Error("kill switch "+action+" refused: the store write failed", "target", kr.Target, "actor", kr.Actor,
		"error", err.Error())
	apierr.Write(w, apierr.New(http.StatusInternalServerError, apierr.TypeServer, "kill_switch_not_saved",
		"The kill switch could not be saved to the store, so nothing changed; retry."))
}

func (g *Gateway) serveKills(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"kills": g.kill.Active()})
}

// serveUpstreams lists the upstreams with their circuit breaker, kill
// switch and health state.
func (g *Gateway) serveUpstreams(w http.ResponseWriter, _ *http.Request) {
	g.mu.Lock()
	clients := g.clients
	g.mu.Unlock()
	type state struct {
		Name        string `json:"name"`
		Flavor      string `json:"flavor"`
		Public      bool   `json:"public"`
		CircuitOpen bool   `json:"circuit_open"`
		Killed      bool   `json:"killed"`
		// Health is healthy, unhealthy or ejected, with the check counts.
		Health *health.Status `json:"health,omitempty"`
	}
	out := make([]state, 0, len(clients))
	for name, c := range clients {
		_, killed := g.kill.Killed(name, "", "")
		out = append(out, state{Name: name, Flavor: c.Flavor, Public: c.Public, CircuitOpen: c.Breaker.Open(), Killed: killed,
			Health: g.upstreamHealth(name)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"upstreams": out})
}
