package server

import (
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
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/config"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

var serials atomic.Int64

func newTestCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serials.Add(1)), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: pool}
}

// leaf is a certificate the CA issued and its key, in PEM.
type leaf struct {
	certPEM, keyPEM []byte
	serial          int64
}

// issue makes a server certificate for 127.0.0.1 (server true) or a
// client certificate, valid from notBefore to notAfter.
func (ca *testCA) issue(t *testing.T, cn string, server bool, notBefore, notAfter time.Time) leaf {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial := serials.Add(1)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return leaf{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}),
		serial:  serial,
	}
}

func (ca *testCA) valid(t *testing.T, cn string, server bool) leaf {
	return ca.issue(t, cn, server, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

func (l leaf) tls(t *testing.T) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(l.certPEM, l.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeAt writes data to path and sets its modification time to at, so
// that a rewrite is seen as a change whatever the file system's clock
// granularity.
func writeAt(t *testing.T, path string, data []byte, at time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects a listener's log.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tlsEnv is a TLS client listener over files in a temporary folder,
// answering with the common name of the verified client certificate.
type tlsEnv struct {
	srv                    *Server
	dir                    string
	certFile, keyFile, cas string
	serverCA               *testCA
	log                    *logBuffer
	reached                atomic.Int64
}

func startTLS(t *testing.T, ts config.ServerTLS, clientCA *testCA) *tlsEnv {
	t.Helper()
	e := &tlsEnv{dir: t.TempDir(), serverCA: newTestCA(t, "server CA"), log: &logBuffer{}}
	e.certFile, e.keyFile = filepath.Join(e.dir, "cert.pem"), filepath.Join(e.dir, "key.pem")
	l := e.serverCA.valid(t, "gateway", true)
	writeAt(t, e.certFile, l.certPEM, time.Now().Add(-time.Minute))
	writeAt(t, e.keyFile, l.keyPEM, time.Now().Add(-time.Minute))
	ts.CertFile, ts.KeyFile = e.certFile, e.keyFile
	if clientCA != nil {
		e.cas = filepath.Join(e.dir, "client-ca.pem")
		writeAt(t, e.cas, clientCA.pem, time.Now().Add(-time.Minute))
		ts.ClientCAFile = e.cas
	}
	cfg := &config.Listener{Addr: "127.0.0.1:0", TLS: &ts, ReadHeaderTimeout: 5 * time.Second}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.reached.Add(1)
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
		}
	})
	s, err := Listen("client", cfg, h, slog.New(slog.NewTextHandler(e.log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	e.srv = s
	return e
}

// clientConfig presents certs whatever CAs the server names as
// acceptable, as a client that tries its luck would.
func (e *tlsEnv) clientConfig(certs []tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: e.serverCA.pool, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if len(certs) == 0 {
			return &tls.Certificate{}, nil
		}
		return &certs[0], nil
	}}
}

// get makes one request on a new connection, presenting certs.
func (e *tlsEnv) get(t *testing.T, certs ...tls.Certificate) (*http.Response, string, error) {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig:   e.clientConfig(certs),
		DisableKeepAlives: true, ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := c.Get("https://" + e.srv.Addr() + "/")
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// refusal completes a handshake presenting certs and reads: the server's
// verdict on the client certificate arrives as an alert (with TLS 1.3,
// after the client has finished its side of the handshake). It returns
// nil when the server accepted the certificate.
func (e *tlsEnv) refusal(t *testing.T, certs ...tls.Certificate) error {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", e.srv.Addr(), e.clientConfig(certs))
	if err != nil {
		return err
	}
	defer c.Close()
	// An accepted connection waits for a request: the read times out.
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, err = c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return nil
	}
	return err
}

// TestClientCertificates checks the client listener's mTLS: a certificate
// of the configured CA passes, one from a foreign CA, an expired one and
// none at all are refused in the handshake, before any request is served.
func TestClientCertificates(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, "client CA")
	e := startTLS(t, config.ServerTLS{}, ca)
	foreign := newTestCA(t, "foreign CA")

	resp, body, err := e.get(t, ca.valid(t, "alice", false).tls(t))
	if err != nil || resp.StatusCode != 200 || body != "alice" {
		t.Fatalf("a valid client certificate: %v %q", err, body)
	}
	for _, tt := range []struct {
		desc  string
		certs []tls.Certificate
		alert string
	}{
		{"foreign CA", []tls.Certificate{foreign.valid(t, "mallory", false).tls(t)}, "unknown certificate authority"},
		{"expired", []tls.Certificate{ca.issue(t, "bob", false, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)).tls(t)}, "expired certificate"},
		{"not yet valid", []tls.Certificate{ca.issue(t, "carol", false, time.Now().Add(time.Hour), time.Now().Add(48*time.Hour)).tls(t)}, "expired certificate"},
		{"none", nil, "certificate required"},
	} {
		err := e.refusal(t, tt.certs...)
		if err == nil || !strings.Contains(err.Error(), tt.alert) {
			t.Errorf("%s: err = %v, want the server's %q alert", tt.desc, err, tt.alert)
		}
	}
	if n := e.reached.Load(); n != 1 {
		t.Errorf("the handler served %d requests, want only the valid one", n)
	}
}

// TestRenewedServerCertificate rewrites the certificate files under the
// running listener: the next connection gets the new certificate, without
// a restart. A broken rewrite keeps the old certificate serving.
func TestRenewedServerCertificate(t *testing.T) {
	t.Parallel()
	e := startTLS(t, config.ServerTLS{}, nil)
	serial := func() int64 {
		resp, _, err := e.get(t)
		if err != nil {
			t.Fatal(err)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	first := serial()

	renewed := e.serverCA.valid(t, "gateway renewed", true)
	at := time.Now()
	writeAt(t, e.certFile, renewed.certPEM, at)
	writeAt(t, e.keyFile, renewed.keyPEM, at)
	deadline := time.Now().Add(5 * time.Second)
	for s := serial(); s != renewed.serial; s = serial() {
		if s != first {
			t.Fatalf("serial %d, neither the old %d nor the renewed %d", s, first, renewed.serial)
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not served within 5 s")
		}
		time.Sleep(50 * time.Millisecond) // the listener checks the files once a second
	}

	// A broken renewal: the old certificate keeps serving and the failure
	// is logged.
	writeAt(t, e.certFile, []byte("not a certificate"), at.Add(time.Second))
	deadline = time.Now().Add(5 * time.Second)
	for !strings.Contains(e.log.String(), "reloading the TLS certificate failed") {
		if s := serial(); s != renewed.serial {
			t.Fatalf("serial %d after a broken renewal, want %d", s, renewed.serial)
		}
		if time.Now().After(deadline) {
			t.Fatal("the broken renewal was not noticed within 5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := serial(); s != renewed.serial {
		t.Fatalf("serial %d after a broken renewal, want %d", s, renewed.serial)
	}
}

// TestRenewedClientCA rewrites the client CA file under the running
// listener: certificates of the new CA pass and those of the old one are
// refused from then on.
func TestRenewedClientCA(t *testing.T) {
	t.Parallel()
	oldCA, newCA := newTestCA(t, "old client CA"), newTestCA(t, "new client CA")
	e := startTLS(t, config.ServerTLS{}, oldCA)
	oldCert, newCert := oldCA.valid(t, "old", false).tls(t), newCA.valid(t, "new", false).tls(t)
	if _, body, err := e.get(t, oldCert); err != nil || body != "old" {
		t.Fatalf("old CA before the rotation: %v", err)
	}
	// A client of the old CA keeps a session ticket; resuming works before
	// the rotation, so that the refusal after it is the rotation's doing.
	cfg := e.clientConfig([]tls.Certificate{oldCert})
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	resuming := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	resumed := func() (bool, error) {
		resp, err := resuming.Get("https://" + e.srv.Addr() + "/")
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return resp.TLS.DidResume, err
	}
	if _, err := resumed(); err != nil {
		t.Fatal(err)
	}
	if ok, err := resumed(); err != nil || !ok {
		t.Fatalf("the session was not resumed before the rotation: %v", err)
	}
	if err := e.refusal(t, newCert); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Fatalf("a certificate of the new CA before the rotation: %v", err)
	}
	writeAt(t, e.cas, newCA.pem, time.Now())
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body, err := e.get(t, newCert)
		if err == nil && body == "new" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new client CA was not used within 5 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := e.refusal(t, oldCert); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Errorf("old CA after the rotation: %v", err)
	}
	// Nor does a session of the old CA resume past the rotation.
	if ok, err := resumed(); err == nil || ok {
		t.Errorf("a session of the old CA after the rotation: resumed %v, %v", ok, err)
	}
	// The reloaded configuration keeps the listener's other settings.
	resp, _, err := e.get(t, newCert)
	if err != nil || resp.ProtoMajor != 2 {
		t.Errorf("after the rotation: %v, HTTP/2 lost", err)
	}
}

// TestOpenSSLMatrix checks the listener's versions and ciphers with
// openssl s_client, an implementation independent of Go's: TLS 1.0 and
// 1.1 refused, 1.2 with modern suites only, 1.3, and min_version 1.3.
func TestOpenSSLMatrix(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed: the version and cipher matrix is not checked")
	}
	def := startTLS(t, config.ServerTLS{}, nil)
	only13 := startTLS(t, config.ServerTLS{MinVersion: "1.3"}, nil)
	caFile := filepath.Join(def.dir, "server-ca.pem")
	writeAt(t, caFile, def.serverCA.pem, time.Now())
	caFile13 := filepath.Join(only13.dir, "server-ca.pem")
	writeAt(t, caFile13, only13.serverCA.pem, time.Now())

	// Old versions are offered at security level 0, so that a refusal is
	// the server's and not this openssl's own policy.
	legacy := "DEFAULT:@SECLEVEL=0"
	tests := []struct {
		desc string
		env  *tlsEnv
		ca   string
		args []string
		ok   bool
		want string // in the output: the protocol and cipher, or the alert
	}{
		{"TLS 1.0", def, caFile, []string{"-tls1", "-cipher", legacy}, false, "protocol version"},
		{"TLS 1.1", def, caFile, []string{"-tls1_1", "-cipher", legacy}, false, "protocol version"},
		{"TLS 1.2", def, caFile, []string{"-tls1_2"}, true, "Protocol  : TLSv1.2"},
		{"TLS 1.3", def, caFile, []string{"-tls1_3"}, true, "Protocol  : TLSv1.3"},
		{"TLS 1.2 ECDHE-ECDSA AES-GCM", def, caFile, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, true, "Cipher    : ECDHE-ECDSA-AES128-GCM-SHA256"},
		{"TLS 1.2 ChaCha20", def, caFile, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}, true, "Cipher    : ECDHE-ECDSA-CHACHA20-POLY1305"},
		{"TLS 1.2 CBC refused", def, caFile, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:AES128-SHA"}, false, "handshake failure"},
		{"TLS 1.3 AES-256", def, caFile, []string{"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"}, true, "Cipher    : TLS_AES_256_GCM_SHA384"},
		{"TLS 1.3 ChaCha20", def, caFile, []string{"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"}, true, "Cipher    : TLS_CHACHA20_POLY1305_SHA256"},
		{"ALPN h2", def, caFile, []string{"-alpn", "h2,http/1.1"}, true, "ALPN protocol: h2"},
		{"min 1.3: TLS 1.1", only13, caFile13, []string{"-tls1_1", "-cipher", legacy}, false, "protocol version"},
		{"min 1.3: TLS 1.2", only13, caFile13, []string{"-tls1_2"}, false, "protocol version"},
		{"min 1.3: TLS 1.3", only13, caFile13, []string{"-tls1_3"}, true, "Protocol  : TLSv1.3"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			args := append([]string{"s_client", "-connect", tt.env.srv.Addr(), "-CAfile", tt.ca,
				"-verify_return_error"}, tt.args...)
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Stdin = strings.NewReader("")
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("openssl did not finish: %s", out)
			}
			text := string(out)
			if tt.ok {
				if err != nil || !strings.Contains(text, tt.want) || !strings.Contains(text, "Verify return code: 0 (ok)") {
					t.Errorf("openssl %v: %v, want success with %q:\n%s", tt.args, err, tt.want, text)
				}
				return
			}
			if err == nil || !strings.Contains(text, tt.want) {
				t.Errorf("openssl %v: %v, want a refusal with %q:\n%s", tt.args, err, tt.want, text)
			}
		})
	}
}
