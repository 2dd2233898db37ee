package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
)

// Server is one listener and its HTTP server.
type Server struct {
	HTTP     *http.Server
	Listener net.Listener
	log      *slog.Logger
	name     string
	limit    *limitListener
}

// SetWriteBound changes how long a write made with no deadline set may wait
// on a client (listen.write_idle_timeout, on a reload).
func (s *Server) SetWriteBound(d time.Duration) {
	if s.limit != nil {
		s.limit.SetWriteBound(d)
	}
}

// Listen opens a listener for the client API with every bound of cfg.
func Listen(name string, cfg *config.Listener, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener: %w", name, err)
	}
	limit := newLimitListener(ln, cfg.MaxConnections, cfg.MaxConnectionsPerIP, cfg.WriteIdleTimeout)
	ln = limit
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams: cfg.MaxConcurrentStreams,
			// Bounds for the receive windows keep a slow HTTP/2 client from
			// pinning large buffers.
			MaxReceiveBufferPerConnection: 1 << 20,
			MaxReceiveBufferPerStream:     1 << 20,
		},
		// ReadTimeout and WriteTimeout stay zero on purpose: R1 streams last
		// minutes. The request path sets per-read and per-write idle
		// deadlines instead.
	}
	if cfg.TLS != nil {
		tc, err := ServerTLS(cfg.TLS, log)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("%s listener: %w", name, err)
		}
		srv.TLSConfig = tc
		ln = tls.NewListener(ln, tc)
	}
	return &Server{HTTP: srv, Listener: ln, log: log, name: name, limit: limit}, nil
}

// ListenAdmin opens the admin listener: small bodies, short timeouts.
func ListenAdmin(addr string, tlsCfg *config.ServerTLS, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	ln = LimitListener(ln, 256, 64, 60*time.Second)
	srv := &http.Server{
		Handler:           http.MaxBytesHandler(h, 1<<20),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if tlsCfg != nil {
		tc, err := ServerTLS(tlsCfg, log)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("admin listener: %w", err)
		}
		srv.TLSConfig = tc
		ln = tls.NewListener(ln, tc)
	}
	return &Server{HTTP: srv, Listener: ln, log: log, name: "admin"}, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() string { return s.Listener.Addr().String() }

// Serve serves until Shutdown; it returns nil after a shutdown.
func (s *Server) Serve() error {
	err := s.HTTP.Serve(s.Listener)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for requests in flight until ctx ends,
// then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.HTTP.Shutdown(ctx)
	if err != nil {
		_ = s.HTTP.Close()
	}
	return err
}

// ServerTLS builds a listener's TLS configuration: TLS 1.2 minimum, modern
// suites, ALPN h2 and http/1.1, optional client certificates. The
// certificate is re-read when its file changes, so a renewal needs no
// restart.
func ServerTLS(c *config.ServerTLS, log *slog.Logger) (*tls.Config, error) {
	kp := &keyPair{cert: c.CertFile, key: c.KeyFile, log: log}
	if _, err := kp.load(); err != nil {
		return nil, err
	}
	tc := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: kp.get,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
	if c.MinVersion == "1.3" {
		tc.MinVersion = tls.VersionTLS13
	}
	var cas *clientCAs
	if c.ClientCAFile != "" {
		cas = &clientCAs{file: c.ClientCAFile, log: log}
		pool, mtime, err := cas.read()
		if err != nil {
			return nil, err
		}
		cas.mtime = mtime
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	switch c.ClientAuth {
	case "request":
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	case "none":
		tc.ClientAuth = tls.NoClientCert
	}
	if cas != nil {
		cas.base = tc
		tc.GetConfigForClient = cas.config
	}
	return tc, nil
}

// reloadCheck is how often, at most, a listener looks at the modification
// time of its certificate and client CA files.
const reloadCheck = time.Second

// clientCAs reloads a listener's client CA bundle when its file changes,
// checking at most once per reloadCheck, so that a CA rotation needs no
// restart. Until the first change the listener's own configuration serves.
type clientCAs struct {
	file string
	log  *slog.Logger
	base *tls.Config

	mu      sync.Mutex
	cur     *tls.Config // base with the reloaded pool; nil before a reload
	mtime   time.Time
	checked time.Time
}

func (c *clientCAs) read() (*x509.CertPool, time.Time, error) {
	// The time is taken first: a change while the file is read is seen at
	// the next check.
	st, err := os.Stat(c.file)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("client_ca_file: %w", err)
	}
	pem, err := os.ReadFile(c.file)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("client_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, time.Time{}, errors.New("client_ca_file holds no PEM certificate")
	}
	return pool, st.ModTime(), nil
}

// config implements tls.Config.GetConfigForClient.
func (c *clientCAs) config(*tls.ClientHelloInfo) (*tls.Config, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) < reloadCheck {
		return c.cur, nil
	}
	c.checked = time.Now()
	st, err := os.Stat(c.file)
	if err != nil || st.ModTime().Equal(c.mtime) {
		return c.cur, nil
	}
	pool, mtime, err := c.read()
	if err != nil {
		// A half-written or broken file keeps the CAs in use.
		c.log.Error("reloading the client CA file failed; keeping the old CAs", "error", err.Error())
		return c.cur, nil
	}
	cfg := c.base.Clone()
	cfg.ClientCAs = pool
	cfg.GetConfigForClient = nil
	c.cur, c.mtime = cfg, mtime
	c.log.Info("client CA file reloaded", "file", c.file)
	return c.cur, nil
}

// keyPair reloads a certificate when its files change, checking at most
// once per reloadCheck.
type keyPair struct {
	cert, key string
	log       *slog.Logger

	mu      sync.Mutex
	cur     *tls.Certificate
	mtime   time.Time
	checked time.Time
}

func (k *keyPair) load() (*tls.Certificate, error) {
	// The time is taken first: a change while the files are read is seen
	// at the next check.
	m := k.modTime()
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	k.cur, k.mtime = &c, m
	return &c, nil
}

// modTime is the later modification time of the two files, so that a
// renewal that rewrites only the key, or the key last, is seen too.
func (k *keyPair) modTime() time.Time {
	var t time.Time
	for _, f := range []string{k.cert, k.key} {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}

func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if time.Since(k.checked) < reloadCheck {
		return k.cur, nil
	}
	k.checked = time.Now()
	if m := k.modTime(); m.IsZero() || m.Equal(k.mtime) {
		return k.cur, nil
	}
	old := k.cur
	if _, err := k.load(); err != nil {
		k.log.Error("reloading the TLS certificate failed; keeping the old one", "error", err.Error())
		k.cur = old
	} else {
		k.log.Info("TLS certificate reloaded", "file", k.cert)
	}
	return k.cur, nil
}
