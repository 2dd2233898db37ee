package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/keys"
)

// adminHandler serves health, metrics and the admin API. It listens on its
// own address only; none of these paths exists on the client listener.
func (g *Gateway) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if g.draining.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("draining\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.Registry, promhttp.HandlerOpts{}))
	api := http.NewServeMux()
	api.HandleFunc("GET /admin/v1/config", g.serveConfig)
	api.HandleFunc("GET /admin/v1/upstreams", g.serveUpstreams)
	api.HandleFunc("GET /admin/v1/kill", g.serveKills)
	api.HandleFunc("GET /admin/v1/audit", g.serveAudit)
	api.HandleFunc("GET /admin/v1/usage", g.serveUsage)
	api.HandleFunc("POST /admin/v1/kill", g.serveKill)
	api.HandleFunc("POST /admin/v1/revive", g.serveRevive)
	api.HandleFunc("POST /admin/v1/reload", func(w http.ResponseWriter, _ *http.Request) {
		if err := g.Reload(); err != nil {
			apierr.Write(w, apierr.BadRequest("config_rejected", "The configuration was rejected: "+err.Error()))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"reloaded":true}` + "\n"))
	})
	if g.keys != nil {
		kh := keys.AdminHandler(g.keys)
		api.Handle("/admin/v1/keys", kh)
		api.Handle("/admin/v1/keys/", kh)
	}
	mux.Handle("/admin/", g.requireAdmin(api))
	// Profiles are for operators diagnosing the gateway; they sit behind
	// the same protection as the admin API.
	prof := http.NewServeMux()
	prof.HandleFunc("/debug/pprof/", pprof.Index)
	prof.HandleFunc("/debug/pprof/profile", pprof.Profile)
	prof.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/pprof/", g.requireAdmin(prof))
	return mux
}

// requireAdmin checks the admin token when one is configured. Without a
// token the admin listener must be on loopback, which config validation
// enforces.
func (g *Gateway) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := g.Config().Admin.Token
		if token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			want := sha256.Sum256([]byte(token))
			have := sha256.Sum256([]byte(got))
			if !ok || subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="rampart-admin"`)
				apierr.Write(w, apierr.New(http.StatusUnauthorized, apierr.TypeAuthentication,
					"invalid_admin_token", "Invalid admin credentials."))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (g *Gateway) serveConfig(w http.ResponseWriter, _ *http.Request) {
	b, err := g.Config().MarshalYAMLRedacted()
	if err != nil {
		apierr.Write(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(b)
}
