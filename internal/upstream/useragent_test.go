package upstream

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-gw/rampart/internal/config"
)

// Both clients, the lean plain-HTTP one and http.Transport for HTTPS, send
// the same User-Agent, and a configured one replaces it: the upstream sees
// nothing of the client's, nor Go's default.
func TestUserAgent(t *testing.T) {
	seen := make(chan []string, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Values("User-Agent")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})
	plain := httptest.NewServer(h)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(h)
	defer tlsSrv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		desc, url, configured, want string
	}{
		{"plain HTTP", plain.URL + "/v1", "", "rampart"},
		{"HTTPS", tlsSrv.URL + "/v1", "", "rampart"},
		{"plain HTTP, configured", plain.URL + "/v1", "acme-gateway/1", "acme-gateway/1"},
		{"HTTPS, configured", tlsSrv.URL + "/v1", "acme-gateway/1", "acme-gateway/1"},
	} {
		u := &config.Upstream{URL: tc.url, Flavor: FlavorVLLM, MaxIdleConns: 2, TLS: &config.ClientTLS{CAFile: ca}}
		if tc.configured != "" {
			u.Headers = map[string]string{"User-Agent": tc.configured}
		}
		c, err := New("t", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(context.Background(), "/chat/completions", []byte(`{"model":"m"}`), false, "req-1")
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		resp.Body.Close()
		c.CloseIdle()
		if got := <-seen; len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: User-Agent %q, want %q", tc.desc, got, tc.want)
		}
	}
}
