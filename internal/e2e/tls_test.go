package e2e_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-gw/rampart/internal/sim"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rampart-e2e"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestClientTLS checks TLS on the client listener: HTTP/2 is negotiated, a
// stream works over it, and clients below TLS 1.2 are refused.
func TestClientTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	e := startWith(t, startOpts{Listen: "tls: {cert_file: " + certFile + ", key_file: " + keyFile + "}"},
		[]upstreamSpec{{Name: "sim", Sim: &sim.Options{}}},
		[]routeSpec{{Name: "r", Models: "deepseek-chat", Upstreams: "sim"}}, "")
	if !strings.HasPrefix(e.base, "https://") {
		t.Fatalf("base %s", e.base)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	resp, err := client.Do(e.newRequest("/v1/chat/completions", chatBody("deepseek-chat", true, `,"x_sim":{"events":5}`)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", resp.Proto)
	}
	if resp.StatusCode != 200 || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Errorf("stream over TLS: %d %q", resp.StatusCode, tail(body, 200))
	}
	if n := len(sseEvents(body)); n < 6 {
		t.Errorf("%d events", n)
	}

	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		d := &net.Dialer{Timeout: 3 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", hostPort(e.base), &tls.Config{
			RootCAs: pool, MinVersion: v, MaxVersion: v,
		})
		if err == nil {
			c.Close()
			t.Errorf("a TLS %s client was accepted", tls.VersionName(v))
			continue
		}
		// The refusal must come from the server, not from this client's
		// own configuration.
		if !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("TLS %s: %v", tls.VersionName(v), err)
		}
	}
}
