package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFetchClientBounds(t *testing.T) {
	t.Parallel()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(other.Close)
	var self string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte(`{"keys":[]}`))
		case "/same-host":
			http.Redirect(w, r, self+"/ok", http.StatusFound)
		case "/other-host":
			// Another port is another host for the redirect policy.
			http.Redirect(w, r, other.URL+"/", http.StatusFound)
		case "/huge":
			_, _ = w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("a", maxFetchBytes) + `"}`))
		case "/status":
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	self = srv.URL
	client := newFetchClient(5 * time.Second)
	tests := []struct {
		desc string
		path string
		ok   bool
	}{
		{"plain", "/ok", true},
		{"redirect on the same host", "/same-host", true},
		{"redirect to another host", "/other-host", false},
		{"larger than the cap", "/huge", false},
		{"error status", "/status", false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var v map[string]any
			err := getJSON(context.Background(), client, srv.URL+tt.path, &v)
			if (err == nil) != tt.ok {
				t.Fatalf("getJSON: err = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}
