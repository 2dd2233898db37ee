package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/rampart-gw/rampart/internal/sim"
)

// pemCA is a certificate authority made for one test.
type pemCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newPEMCA(t *testing.T, cn string) *pemCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &pemCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *pemCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue returns a certificate and key in PEM: for server, valid for the
// DNS name cn; otherwise a client certificate with common name cn.
func (ca *pemCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{cn}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func writePEM(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMTLSUpstream serves the simulator over TLS 1.3 only, requiring a
// client certificate of its own CA, under a name that is not the address
// (as a self-hosted R1 behind an internal name). The gateway reaches it
// with the upstream's CA, client certificate, SNI and minimum version; an
// upstream entry without the client certificate is refused by the
// simulator in the handshake, and the client gets an upstream error.
func TestMTLSUpstream(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	serverCA, clientCA := newPEMCA(t, "r1 server CA"), newPEMCA(t, "r1 client CA")
	srvCert, srvKey := serverCA.issue(t, "r1.internal", true)
	gwCert, gwKey := clientCA.issue(t, "rampart-gateway", false)
	cert, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var snis, peers []string
	s := sim.New(sim.Options{})
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		peers = append(peers, r.TLS.PeerCertificates[0].Subject.CommonName)
		mu.Unlock()
		s.ServeHTTP(w, r)
	}))
	up.TLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCA.pool(),
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			mu.Lock()
			snis = append(snis, h.ServerName)
			mu.Unlock()
			return nil, nil
		},
	}
	tlsErrs := &syncBuffer{}
	up.Config.ErrorLog = log.New(tlsErrs, "", 0)
	up.StartTLS()
	t.Cleanup(up.Close)

	ca := writePEM(t, dir, "r1-ca.pem", serverCA.pem)
	cf, kf := writePEM(t, dir, "gw.pem", gwCert), writePEM(t, dir, "gw-key.pem", gwKey)
	yaml := fmt.Sprintf(`listen: {addr: 127.0.0.1:0}
admin: {addr: 127.0.0.1:0}
data_dir: %[1]s
auth: {api_keys: false, static_keys: [{name: test, team: qa, key: %[2]s}]}
upstreams:
  r1:
    url: %[3]s/v1
    flavor: deepseek
    tls: {ca_file: %[4]s, cert_file: %[5]s, key_file: %[6]s, server_name: r1.internal, min_version: "1.3"}
  r1-no-cert:
    url: %[3]s/v1
    flavor: deepseek
    tls: {ca_file: %[4]s, server_name: r1.internal}
routes:
  - {name: r1, models: [deepseek-chat], upstreams: [r1], reasoning: pass}
  - {name: no-cert, models: [deepseek-reasoner], upstreams: [r1-no-cert], reasoning: pass}
`, t.TempDir(), testKey, up.URL, ca, cf, kf)
	e := (&env{t: t, logs: &syncBuffer{}}).run(yaml, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")}

	resp, err := e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "deepseek-chat", Messages: msgs})
	if err != nil || len(resp.Choices) == 0 || resp.Choices[0].Message.Content == "" {
		t.Fatalf("chat over mTLS: %v", err)
	}
	st := e.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "deepseek-chat", Messages: msgs})
	chunks := 0
	for st.Next() {
		chunks++
	}
	if err := st.Err(); err != nil || chunks == 0 {
		t.Fatalf("stream over mTLS: %d chunks, %v", chunks, err)
	}
	_ = st.Close()
	mu.Lock()
	served := len(peers)
	for _, p := range peers {
		if p != "rampart-gateway" {
			t.Errorf("the simulator saw client certificate %q", p)
		}
	}
	for _, n := range snis {
		if n != "r1.internal" {
			t.Errorf("SNI %q, want r1.internal", n)
		}
	}
	mu.Unlock()
	if served != 2 {
		t.Fatalf("the simulator served %d requests, want 2", served)
	}
	mu.Lock()
	handshakes := len(snis)
	mu.Unlock()

	_, err = e.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "deepseek-reasoner", Messages: msgs})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode < 500 {
		t.Fatalf("upstream without the client certificate: %v", err)
	}
	// The simulator logs its side of the refused handshake.
	waitFor(t, 5*time.Second, func() bool { return strings.Contains(tlsErrs.String(), "didn't provide a certificate") })
	mu.Lock()
	defer mu.Unlock()
	if len(peers) != served {
		t.Errorf("a request without a client certificate reached the simulator")
	}
	if len(snis) <= handshakes {
		t.Errorf("the gateway did not try the upstream without a certificate")
	}
}
