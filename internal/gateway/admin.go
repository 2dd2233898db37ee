package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rampart-gw/rampart/internal/apierr"
	"github.com/rampart-gw/rampart/internal/keys"
	"github.com/rampart-gw/rampart/internal/ui"
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
	// The dashboard's files hold no data; the page reads the admin API
	// with the operator's token.
	dash := ui.Handler()
	mux.Handle("GET /ui/", dash)
	mux.Handle("GET /ui", dash)
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
	// A web page that the operator's browser shows cannot change anything
	// here: a kill, a revival, a reload or a new key sent from another
	// origin is refused (the browser says where a request comes from in
	// Sec-Fetch-Site or Origin; command-line clients send neither).
	xorigin := http.NewCrossOriginProtection()
	xorigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		apierr.Write(w, apierr.New(http.StatusForbidden, apierr.TypePermission, "cross_origin_request",
			"The admin API refuses changes sent by a web page of another origin. Call it from a command line or a server."))
	}))
	mux.Handle("/admin/", xorigin.Handler(g.requireAdmin(api)))
	// Profiles are for operators diagnosing the gateway; they sit behind
	// the same protection as the admin API.
	prof := http.NewServeMux()
	prof.HandleFunc("/debug/pprof/", pprof.Index)
	prof.HandleFunc("/debug/pprof/profile", pprof.Profile)
	prof.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/pprof/", g.requireAdmin(prof))
	return g.checkAdminHost(mux)
}

// checkAdminHost guards an admin listener without a token against DNS
// rebinding: a web page on a name the attacker controls, re-pointed at
// 127.0.0.1, would otherwise be same-origin with the admin listener and
// could read the audit trail or create a key. Without a token the listener
// is on loopback (config validation enforces it), and it answers only
// requests addressed to an IP address or to localhost, which no rebinding
// can forge. With a token, the token protects the API, and the admin
// listener answers any name it is reached by (a Kubernetes Service, say).
func (g *Gateway) checkAdminHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Config().Admin.Token == "" && !localHost(r.Host) {
			apierr.Write(w, apierr.New(http.StatusForbidden, apierr.TypePermission, "host_not_allowed",
				"Without admin.token the admin listener answers only requests addressed to an IP address or localhost (a protection against DNS rebinding). Use http://127.0.0.1 or http://localhost, or set admin.token."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// localHost reports whether a Host header names an IP address, localhost
// or a name under .localhost, with or without a port.
func localHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	_, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil
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
