package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"

	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/killswitch"
	"github.com/rampart-gw/rampart/internal/upstream"
)

// openKillSwitch loads the kill switch persisted in the data folder, so
// that a kill survives a restart.
func (g *Gateway) openKillSwitch(dataDir string) error {
	ks, err := killswitch.Open(filepath.Join(dataDir, "killswitch.json"), func(ev killswitch.Event) {
		g.log.Warn("kill switch "+ev.Action, "target", ev.Target, "actor", ev.Actor, "reason", ev.Reason)
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
}

func decodeKill(w http.ResponseWriter, r *http.Request) (killRequest, bool) {
	var kr killRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kr); err != nil || kr.Target == "" {
		apierr.Write(w, apierr.BadRequest("invalid_request",
			`The body must be {"target": "...", "reason": "...", "actor": "..."} with a target: an upstream, a model, a route or "*".`))
		return kr, false
	}
	if kr.Actor == "" {
		kr.Actor = "admin-api"
	}
	return kr, true
}

func (g *Gateway) serveKill(w http.ResponseWriter, r *http.Request) {
	kr, ok := decodeKill(w, r)
	if !ok {
		return
	}
	if err := g.kill.Kill(kr.Target, kr.Actor, kr.Reason, upstream.ErrKilled); err != nil {
		apierr.Write(w, err)
		return
	}
	g.serveKills(w, r)
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
		apierr.Write(w, err)
		return
	}
	g.serveKills(w, r)
}

func (g *Gateway) serveKills(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"kills": g.kill.Active()})
}
