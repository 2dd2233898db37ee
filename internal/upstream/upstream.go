// Package upstream calls OpenAI-compatible model servers: it owns the
// connection pool, the per-phase timeouts, the provider credentials and the
// one function that maps an upstream failure to the client's status.
package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
	"github.com/rampart-gw/rampart/internal/trace"
	"golang.org/x/net/http/httpguts"
)

// Flavors of upstream servers.
const (
	FlavorDeepSeek = "deepseek"
	FlavorVLLM     = "vllm"
	FlavorSGLang   = "sglang"
	FlavorOllama   = "ollama"
	FlavorOpenAI   = "openai"
)

// Client sends requests to one upstream. It is safe for concurrent use and
// is shared by every configuration snapshot whose upstream settings are
// unchanged, so that a reload keeps warm connections.
type Client struct {
	// Name is the upstream's name in the configuration.
	Name string
	// Flavor decides protocol quirks.
	Flavor string
	// ReasoningFormat is field, tags or implicit: how reasoning arrives.
	ReasoningFormat string
	// Public marks a third-party service.
	Public bool
	// Timeouts are the configured per-phase bounds.
	Timeouts config.Timeouts
	// Breaker stops calls to the upstream while it keeps failing. It lives
	// as long as the client, so a reload that keeps the client keeps it.
	Breaker *Breaker
	// Health says whether requests may go to the upstream (active checks,
	// outlier detection) and learns from their outcomes. Nil means always
	// usable. It is set before the client is first used and never changed.
	Health Health

	base      string // base URL without a trailing slash
	header    http.Header
	transport *http.Transport
	http      *http.Client
	fp        string // fingerprint of the settings, to reuse clients
	urls      map[string]*url.URL
	h1        *h1Client // set for plain-HTTP upstreams: the lean client
}

// Health is the view of an upstream's health the request path uses.
type Health interface {
	// Usable reports whether requests may go to the upstream now and, when
	// not, how long until that may change.
	Usable() (bool, time.Duration)
	// Observe records whether a real request succeeded.
	Observe(ok bool)
}

// New builds a client for an upstream. It reads TLS files, so it may fail.
func New(name string, u *config.Upstream, log *slog.Logger) (*Client, error) {
	parsed, err := url.Parse(u.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream %s: url: %w", name, err)
	}
	tlsCfg, err := clientTLS(u.TLS, parsed.Hostname())
	if err != nil {
		return nil, fmt.Errorf("upstream %s: tls: %w", name, err)
	}
	if u.TLS != nil && u.TLS.InsecureSkipVerify && log != nil {
		log.Warn("upstream TLS certificate verification is OFF: traffic can be intercepted",
			"upstream", name)
	}
	t := u.Timeouts
	dialer := &net.Dialer{Timeout: t.Dial, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                  nil, // never route model traffic through an environment proxy
		DialContext:            dialer.DialContext,
		TLSClientConfig:        tlsCfg,
		TLSHandshakeTimeout:    t.TLS,
		ResponseHeaderTimeout:  t.FirstByte,
		MaxIdleConns:           u.MaxIdleConns,
		MaxIdleConnsPerHost:    u.MaxIdleConns,
		IdleConnTimeout:        90 * time.Second,
		DisableCompression:     true, // relay bytes as they come; never buffer for gzip
		MaxResponseHeaderBytes: 1 << 20,
		ForceAttemptHTTP2:      parsed.Scheme == "https",
		// Small buffers keep thousands of open streams cheap; larger
		// bodies simply take more reads and writes.
		WriteBufferSize: 4 << 10,
		ReadBufferSize:  4 << 10,
	}
	h := make(http.Header, len(u.Headers)+2)
	for k, v := range u.Headers {
		h.Set(k, v)
	}
	if u.APIKey != "" {
		h.Set("Authorization", "Bearer "+u.APIKey)
	}
	c := &Client{
		Name:            name,
		Flavor:          u.Flavor,
		ReasoningFormat: u.ReasoningFormat,
		Public:          u.Public,
		Timeouts:        t,
		base:            strings.TrimRight(u.URL, "/"),
		header:          h,
		transport:       tr,
		http: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				// A redirect would resend the prompt somewhere unchecked.
				return http.ErrUseLastResponse
			},
		},
		fp: Fingerprint(u),
		Breaker: func() *Breaker {
			if u.CircuitBreaker.Disabled {
				return nil
			}
			return NewBreaker(u.CircuitBreaker.Failures, u.CircuitBreaker.Cooldown)
		}(),
		urls: map[string]*url.URL{},
	}
	for _, p := range []string{"/chat/completions", "/completions", "/embeddings", "/models"} {
		pu, err := url.Parse(c.base + p)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: url: %w", name, err)
		}
		c.urls[p] = pu
	}
	if parsed.Scheme == "http" {
		c.h1 = newH1(parsed, h, dialer, u)
	}
	return c, nil
}

// userAgent is the User-Agent of every request to an upstream.
var userAgent = []string{"rampart"}

// newH1 builds the lean plain-HTTP client of an upstream.
func newH1(u *url.URL, h http.Header, dialer *net.Dialer, cfg *config.Upstream) *h1Client {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	head := append([]byte("Host: "), u.Host...)
	head = append(head, "\r\n"...)
	if _, ok := h["User-Agent"]; !ok {
		head = append(head, "User-Agent: "+userAgent[0]+"\r\n"...)
	}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
				continue // refused by configuration validation already
			}
			head = append(head, k...)
			head = append(head, ": "...)
			head = append(head, v...)
			head = append(head, "\r\n"...)
		}
	}
	idle := cfg.MaxIdleConns
	if idle <= 0 {
		idle = 100
	}
	return &h1Client{
		addr:      addr,
		dialer:    dialer,
		firstByte: cfg.Timeouts.FirstByte,
		maxHeader: 1 << 20,
		maxIdle:   idle,
		idleFor:   90 * time.Second,
		checkIdle: checkAfter,
		head:      head,
	}
}

// Fingerprint identifies an upstream's settings, so that a reload can keep
// a client whose settings did not change.
func Fingerprint(u *config.Upstream) string {
	return fmt.Sprintf("%#v|%#v|%#v", *u, u.TLS, u.Headers)
}

// SameSettings reports whether c was built from settings equal to u.
func (c *Client) SameSettings(u *config.Upstream) bool { return c.fp == Fingerprint(u) }

// CloseIdle closes idle connections; called when a reload drops the client.
func (c *Client) CloseIdle() {
	if c.h1 != nil {
		c.h1.closeIdle()
	}
	c.transport.CloseIdleConnections()
}

// Do posts body to the upstream path (such as "/chat/completions"). The
// caller closes the response body. ctx bounds the whole exchange. The
// answer's Header is read-only: answers may share one.
func (c *Client) Do(ctx context.Context, path string, body []byte, stream bool, requestID string) (*http.Response, error) {
	u, ok := c.urls[path]
	if !ok {
		return nil, fmt.Errorf("upstream %s: unknown path %q", c.Name, path)
	}
	if c.h1 != nil {
		accept := jsonCT
		if stream {
			accept = sseAccept
		}
		return c.h1.do(ctx, http.MethodPost, u.RequestURI(), body, accept, requestID, trace.Traceparent(ctx))
	}
	// The URL is parsed once per upstream, not once per request.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.URL, req.Host = u, u.Host
	h := req.Header
	// The same User-Agent as the plain-HTTP client's, not Go's; a
	// configured one replaces it.
	h["User-Agent"] = userAgent
	for k, v := range c.header {
		h[k] = v
	}
	h["Content-Type"] = jsonCT
	if stream {
		h["Accept"] = sseAccept
	} else {
		h["Accept"] = jsonCT
	}
	if requestID != "" {
		h["X-Request-Id"] = []string{requestID}
	}
	trace.Inject(ctx, h)
	return c.http.Do(req)
}

// Get sends a GET to the upstream path; used for health checks.
func (c *Client) Get(ctx context.Context, path string) (*http.Response, error) {
	if c.h1 != nil {
		pu, err := url.Parse(c.base + path)
		if err != nil {
			return nil, err
		}
		return c.h1.do(ctx, http.MethodGet, pu.RequestURI(), nil, nil, "", "")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header["User-Agent"] = userAgent
	for k, v := range c.header {
		req.Header[k] = v
	}
	return c.http.Do(req)
}

var (
	jsonCT    = []string{"application/json"}
	sseAccept = []string{"text/event-stream"}
)

func clientTLS(t *config.ClientTLS, host string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if t == nil {
		return cfg, nil
	}
	if t.MinVersion == "1.3" {
		cfg.MinVersion = tls.VersionTLS13
	}
	if t.ServerName != "" {
		cfg.ServerName = t.ServerName
	}
	cfg.InsecureSkipVerify = t.InsecureSkipVerify
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("ca_file holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
