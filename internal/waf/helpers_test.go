package waf

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// defaultWAF is the WAF of the default configuration, compiled once for the
// whole package: compiling the CRS costs tens of milliseconds, far more under
// the race detector.
var defaultWAF = sync.OnceValues(func() (*WAF, error) {
	return New(Config{Enabled: true}, slog.New(slog.DiscardHandler))
})

func mustDefault(t testing.TB) *WAF {
	t.Helper()
	w, err := defaultWAF()
	if err != nil {
		t.Fatalf("default WAF: %v", err)
	}
	return w
}

func mustNew(t testing.TB, cfg Config) *WAF {
	t.Helper()
	w, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// gate serves the WAF the way the gateway will: read the body, inspect,
// answer 403 or pass to next. The last verdict is kept for assertions.
type gate struct {
	w     *WAF
	scope string
	next  http.HandlerFunc

	mu   sync.Mutex
	last Verdict
}

func (g *gate) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(rw, "read body", http.StatusBadRequest)
		return
	}
	scope := g.scope
	if scope == "" {
		scope = g.w.Config().InspectBody
	}
	v, _ := g.w.InspectScope(r.Context(), r, body, scope)
	g.mu.Lock()
	g.last = v
	g.mu.Unlock()
	if v.Blocked {
		http.Error(rw, "blocked", http.StatusForbidden)
		return
	}
	if g.next != nil {
		g.next(rw, r)
		return
	}
	rw.WriteHeader(http.StatusOK)
}

func (g *gate) verdict() Verdict {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// sendRaw writes raw request bytes to the server and returns the response
// status, so a test controls every byte of the request line and headers.
func sendRaw(t testing.TB, s *httptest.Server, raw string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatalf("deadline: %v", err)
	}
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
