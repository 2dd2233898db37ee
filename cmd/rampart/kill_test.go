package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestKillVerbAnswers: the verb's output and exit for each admin answer. A
// kill in force but not saved (202) is reported, and fails the command so
// that a script notices the other instances do not have it yet.
func TestKillVerbAnswers(t *testing.T) {
	tests := []struct {
		name    string
		verb    string
		status  int
		body    string
		wantOut string
		wantErr string
	}{
		{"saved", "kill", 200, `{"kills":[{"target":"sim"}],"saved":true}`, "killed sim\n", ""},
		{"not saved", "kill", 202, `{"kills":[{"target":"sim"}],"saved":false,"message":"The store could not save it."}`,
			"killed sim on this instance only\n", "not saved: The store could not save it."},
		{"refused", "kill", 400, `{"error":{"message":"bad target","type":"invalid_request_error","code":"invalid_request"}}`,
			"", "answered 400: bad target"},
		{"revived", "revive", 200, `{"kills":[]}`, "revived sim\n", ""},
		{"revival not saved", "revive", 500, `{"error":{"message":"retry","type":"server_error","code":"kill_switch_not_saved"}}`,
			"", "answered 500: retry"},
		{"a 202 to a revival is not success", "revive", 202, `{}`, "", "answered 202"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/admin/v1/"+tt.verb {
					t.Errorf("path %s", r.URL.Path)
				}
				_ = json.NewDecoder(r.Body).Decode(&got)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			var out bytes.Buffer
			err := killVerb(t.Context(), tt.verb, []string{"sim", "--admin", srv.URL}, &out, io.Discard)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if out.String() != tt.wantOut {
				t.Fatalf("output %q, want %q", out.String(), tt.wantOut)
			}
			if got["target"] != "sim" || !strings.HasPrefix(got["actor"], "cli:") {
				t.Fatalf("request body %v", got)
			}
		})
	}
}

// TestKillVerbForce: --force asks the gateway to kill a target its
// configuration does not name; without it the body has no force.
func TestKillVerbForce(t *testing.T) {
	for _, force := range []bool{false, true} {
		var got map[string]any
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewDecoder(r.Body).Decode(&got)
			_, _ = io.WriteString(w, `{"kills":[{"target":"new-model"}],"saved":true}`)
		}))
		args := []string{"new-model", "--admin", srv.URL}
		if force {
			args = append(args, "--force")
		}
		err := killVerb(t.Context(), "kill", args, io.Discard, io.Discard)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f, ok := got["force"]; ok != force || (force && f != true) {
			t.Errorf("--force=%v: request body %v", force, got)
		}
	}
}
