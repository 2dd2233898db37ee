package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestUsageVerb runs `rampart usage` against a fake admin API: the flags
// become query parameters, the token is sent, and the rows print as a
// table.
func TestUsageVerb(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"usage":[{"bucket":"2026-11-22T00:00:00Z","key":"k1","model":"deepseek-chat","requests":3,"errors":1,"prompt_tokens":30,"cached_tokens":10,"completion_tokens":20,"reasoning_tokens":5,"total_tokens":50,"cost":0.000123}]}`)
	}))
	defer srv.Close()
	t.Setenv("RAMPART_ADMIN_TOKEN", "secret-token")
	var out, errOut bytes.Buffer
	err := runUsage(context.Background(), []string{"--admin", srv.URL, "--since", "48h", "--by", "key,model", "--team", "t1"}, &out, &errOut)
	if err != nil {
		t.Fatalf("%v (%s)", err, errOut.String())
	}
	q := got.URL.Query()
	if got.URL.Path != "/admin/v1/usage" || q.Get("group_by") != "key,model" || q.Get("team") != "t1" || q.Get("granularity") != "day" || q.Get("from") == "" {
		t.Errorf("request %s", got.URL)
	}
	if got.Header.Get("Authorization") != "Bearer secret-token" {
		t.Error("no admin token sent")
	}
	for _, want := range []string{"PERIOD", "2026-11-22", "k1", "deepseek-chat", "50", "0.000123"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestUsageVerbError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"Invalid usage query: granularity: want hour, day, month or total","type":"invalid_request_error","param":null,"code":"invalid_query"}}`)
	}))
	defer srv.Close()
	err := runUsage(context.Background(), []string{"--admin", srv.URL, "--granularity", "week"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "granularity") {
		t.Fatalf("err = %v", err)
	}
}
