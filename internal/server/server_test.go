package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/rampart-gw/rampart/internal/config"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// serve starts a client listener with cfg and h; it stops with the test.
func serve(t *testing.T, cfg *config.Listener, h http.Handler) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s, err := Listen("client", cfg, h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

// blocking is a handler that holds every request until release is closed.
type blocking struct {
	running atomic.Int64
	release chan struct{}
}

func (b *blocking) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.running.Add(1)
	defer b.running.Add(-1)
	select {
	case <-b.release:
	case <-r.Context().Done():
	}
}

// TestHTTP2StreamCap opens twice max_concurrent_streams streams on one
// HTTP/2 connection: the server runs the cap and resets the rest, each
// reset within 50 ms.
func TestHTTP2StreamCap(t *testing.T) {
	t.Parallel()
	const cap = 8
	cert, key := selfSigned(t)
	h := &blocking{release: make(chan struct{})}
	defer close(h.release)
	s := serve(t, &config.Listener{TLS: &config.ServerTLS{CertFile: cert, KeyFile: key}, MaxConcurrentStreams: cap,
		MaxHeaderBytes: 1 << 16, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}, h)
	conn, err := tls.Dial("tcp", s.Addr(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // a test certificate
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// Read the server's settings and acknowledge them, so that the server
	// treats streams over its cap as a client error.
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			v, ok := sf.Value(http2.SettingMaxConcurrentStreams)
			if !ok || v != cap {
				t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d (%v), want %d", v, ok, cap)
			}
			if err := fr.WriteSettingsAck(); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "127.0.0.1"}, {Name: ":path", Value: "/"}} {
		_ = enc.WriteField(f)
	}
	block := hb.Bytes()
	for i := range cap {
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: block, EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the cap's handlers run, then send the excess at once.
	deadline := time.Now().Add(5 * time.Second)
	for h.running.Load() < cap {
		if time.Now().After(deadline) {
			t.Fatalf("%d handlers running, want %d", h.running.Load(), cap)
		}
		time.Sleep(time.Millisecond)
	}
	begin := time.Now()
	for i := cap; i < 2*cap; i++ {
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: block, EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	reset := map[uint32]bool{}
	var last time.Duration
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(reset) < cap {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d resets: %v", len(reset), err)
		}
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			if f.StreamID < 2*cap+1 {
				t.Fatalf("stream %d within the cap was reset", f.StreamID)
			}
			if f.ErrCode != http2.ErrCodeProtocol && f.ErrCode != http2.ErrCodeRefusedStream {
				t.Errorf("stream %d reset with %v", f.StreamID, f.ErrCode)
			}
			reset[f.StreamID] = true
			last = time.Since(begin)
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v: the connection itself was refused", f.ErrCode)
		}
	}
	if n := h.running.Load(); n != cap {
		t.Errorf("%d handlers running, want %d", n, cap)
	}
	t.Logf("%d excess streams reset within %v", cap, last)
	if last > 50*time.Millisecond {
		t.Errorf("the last reset came after %v, want under 50ms", last)
	}
}

// TestConnectionsPerIPBurst dials twice max_connections_per_ip at once:
// the cap's connections are served, the rest closed within 50 ms.
func TestConnectionsPerIPBurst(t *testing.T) {
	t.Parallel()
	const cap = 8
	s := serve(t, &config.Listener{MaxConnectionsPerIP: cap, MaxConnections: 1000, MaxHeaderBytes: 1 << 16,
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute},
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	type result struct {
		served bool
		took   time.Duration
	}
	results := make(chan result, 2*cap)
	var conns sync.Map
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 * cap {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			c, err := net.Dial("tcp", s.Addr())
			if err != nil {
				results <- result{false, time.Since(t0)}
				return
			}
			conns.Store(i, c)
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				results <- result{false, time.Since(t0)}
				return
			}
			buf := make([]byte, 12)
			_, err = io.ReadFull(c, buf)
			results <- result{err == nil && string(buf) == "HTTP/1.1 200", time.Since(t0)}
		})
	}
	close(start)
	wg.Wait()
	close(results)
	conns.Range(func(_, c any) bool { c.(net.Conn).Close(); return true })
	served, refused := 0, 0
	var slowest time.Duration
	for r := range results {
		if r.served {
			served++
			continue
		}
		refused++
		slowest = max(slowest, r.took)
	}
	if served != cap || refused != cap {
		t.Fatalf("served %d, refused %d; want %d each", served, refused, cap)
	}
	t.Logf("slowest refusal: %v", slowest)
	if slowest > 50*time.Millisecond {
		t.Errorf("a refusal took %v, want under 50ms", slowest)
	}
}
