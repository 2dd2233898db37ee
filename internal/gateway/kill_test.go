package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/killswitch"
	"github.com/rampart-gw/rampart/internal/store"
)

// downKills is a KillStore whose writes fail while down is set, and whose
// kill writes wait for release when it is set.
type downKills struct {
	store.KillStore
	down    atomic.Bool
	release chan struct{}
}

func (d *downKills) Put(ctx context.Context, k store.KillRecord) (int64, error) {
	if d.down.Load() {
		return 0, errors.New("database is locked")
	}
	if d.release != nil {
		select {
		case <-d.release:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return d.KillStore.Put(ctx, k)
}

func (d *downKills) Delete(ctx context.Context, target, actor string, at time.Time) (int64, error) {
	if d.down.Load() {
		return 0, errors.New("database is locked")
	}
	return d.KillStore.Delete(ctx, target, actor, at)
}

// A kill the store cannot save is in force at once and answered 202 with
// "saved": false; a revival the store cannot save is refused with a 500
// OpenAI-style error and changes nothing.
func TestAdminKillWhenTheStoreWriteFails(t *testing.T) {
	t.Parallel()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	kills := &downKills{KillStore: st.Kills()}
	ks, err := killswitch.Open(t.Context(), killswitch.Options{Store: kills})
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{log: slog.New(slog.DiscardHandler), kill: ks}
	post := func(h http.HandlerFunc, body string) (int, string) {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodPost, "/admin/v1/kill", strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	errorCode := func(body string) string {
		var e struct {
			Error struct {
				Code string `json:"code"`
				Type string `json:"type"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("not an OpenAI-style error: %s", body)
		}
		return e.Error.Code
	}

	answer := func(body string) killAnswer {
		var a killAnswer
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("kill answer %q: %v", body, err)
		}
		return a
	}

	kills.down.Store(true)
	status, body := post(g.serveKill, `{"target":"sim","actor":"alice","force":true}`)
	if a := answer(body); status != http.StatusAccepted || a.Saved || a.Message == "" || len(a.Kills) != 1 || a.Kills[0].Target != "sim" {
		t.Fatalf("kill with the store down: %d %s", status, body)
	}
	if _, killed := ks.Killed("sim", "", ""); !killed {
		t.Fatal("a kill the store could not save is not in force")
	}

	kills.down.Store(false)
	if !ks.Poll(t.Context()) {
		t.Fatal("poll failed with the store back")
	}
	if recs, _, err := st.Kills().List(t.Context()); err != nil || len(recs) != 1 || recs[0].Target != "sim" {
		t.Fatalf("the poll did not save the pending kill: %v %v", recs, err)
	}
	status, body = post(g.serveKill, `{"target":"other","actor":"alice","force":true}`)
	if a := answer(body); status != 200 || !a.Saved || a.Message != "" || len(a.Kills) != 2 {
		t.Fatalf("kill: %d %s", status, body)
	}
	kills.down.Store(true)
	status, body = post(g.serveRevive, `{"target":"sim","actor":"bob"}`)
	if status != 500 || errorCode(body) != "kill_switch_not_saved" {
		t.Fatalf("revive with the store down: %d %s", status, body)
	}
	if _, killed := ks.Killed("sim", "", ""); !killed {
		t.Fatal("a revival that was not saved lifted the kill")
	}
}

// A kill while the store hangs is answered 202 once the admin API's wait
// is over, in force, and saved when the store answers.
func TestAdminKillWhileTheStoreHangs(t *testing.T) {
	t.Parallel()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	kills := &downKills{KillStore: st.Kills(), release: make(chan struct{})}
	ks, err := killswitch.Open(t.Context(), killswitch.Options{Store: kills})
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{log: slog.New(slog.DiscardHandler), kill: ks, killWait: 100 * time.Millisecond}
	rec := httptest.NewRecorder()
	start := time.Now()
	g.serveKill(rec, httptest.NewRequest(http.MethodPost, "/admin/v1/kill", strings.NewReader(`{"target":"sim","actor":"alice","force":true}`)))
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the answer took %v", took)
	}
	var a killAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %q: %v", rec.Body.String(), err)
	}
	if rec.Code != http.StatusAccepted || a.Saved || !strings.Contains(a.Message, "not answered yet") || len(a.Kills) != 1 {
		t.Fatalf("kill while the store hangs: %d %s", rec.Code, rec.Body.String())
	}
	if _, killed := ks.Killed("sim", "", ""); !killed {
		t.Fatal("the kill is not in force")
	}
	close(kills.release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs, _, err := st.Kills().List(t.Context())
		if err == nil && len(recs) == 1 && recs[0].Target == "sim" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the kill was not saved once the store answered: %v %v", recs, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
